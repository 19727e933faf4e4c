# Only parsed when upstream meta-parsec (collection parsec-layer) is in
# BBLAYERS (BBFILES_DYNAMIC in conf/layer.conf). Upstream's image then gets
# our parsec-service and parsec-tool through layer priority; this adds what
# lib/oeqa/runtime/cases/parsec_go.py needs on top of upstream's parsec test.

# parsec-tool-tests: parsec-cli-tests.sh, which upstream's parsec test runs
# (upstream ships it in parsec-tool itself).
IMAGE_INSTALL:append = " shadow parsec-tool-tests"

inherit extrausers
EXTRA_USERS_PARAMS:append = " \
    useradd -m -G parsec-clients parsec-test-client; \
    useradd -m parsec-test-other; \
"
