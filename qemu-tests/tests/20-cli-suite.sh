# The project's parsec-cli-tests.sh against the provider under test, as a
# client in group parsec-clients.
. /qt/lib.sh
command -v parsec-cli-tests.sh >/dev/null || fail "parsec-cli-tests.sh is not in the image"
command -v parsec-tool >/dev/null || fail "parsec-tool is not in the image"
cd /tmp || exit 1
# shellcheck disable=SC2086 # QT_CLI_ARGS: options, e.g. --no-oaep for SoftHSM
as alice parsec-cli-tests.sh "-$QT_PROVIDER_ID" ${QT_CLI_ARGS:-}
