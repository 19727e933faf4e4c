SUMMARY = "Parsec service and client built from the parsec-go layer"
LICENSE = "MIT"

inherit packagegroup

RDEPENDS:${PN} = " \
    parsec-service \
    parsec-tool \
"
