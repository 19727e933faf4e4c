/* The PKCS#11 header comes from p11-kit (Debian's libp11-kit-dev, Yocto's
 * p11-kit), found on the compiler's standard path, so a cross sysroot works. */
#ifndef PARSEC_PKCS11_SHIM_H
#define PARSEC_PKCS11_SHIM_H
#include <p11-kit-1/p11-kit/pkcs11.h>
#endif
