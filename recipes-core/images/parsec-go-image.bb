SUMMARY = "Small image for testing the Parsec service from the parsec-go layer"
DESCRIPTION = "Boots to a running Parsec service with parsec-tool, the \
end-to-end test script and, when meta-tpm is present, swtpm for the TPM \
provider. Needs neither meta-parsec nor meta-openembedded beyond what \
swtpm pulls in."
LICENSE = "MIT"

inherit core-image

IMAGE_FEATURES += "ssh-server-dropbear"

IMAGE_INSTALL = " \
    packagegroup-core-boot \
    packagegroup-parsec-go \
    parsec-tool-tests \
    shadow \
    ${@bb.utils.contains('BBFILE_COLLECTIONS', 'tpm-layer', 'swtpm', '', d)} \
    ${CORE_IMAGE_EXTRA_INSTALL} \
"

# shadow provides su. Accounts the oeqa test uses to check that only members of parsec-clients
# reach the service socket.
inherit extrausers
EXTRA_USERS_PARAMS = " \
    useradd -m -G parsec-clients parsec-test-client; \
    useradd -m parsec-test-other; \
"

IMAGE_ROOTFS_EXTRA_SPACE = "65536"
