/* Whole reads and writes on the module's sockets (the service's and the
 * Workload API's), retried on EINTR; writes never raise SIGPIPE. */
#ifndef PARSEC_P11_IO_H
#define PARSEC_P11_IO_H
#include <stddef.h>
#include <stdint.h>

/* Both return 0 once n bytes went through, -1 on error or end of stream. */
int io_write_all(int fd, const uint8_t *p, size_t n);
int io_read_all(int fd, uint8_t *p, size_t n);
#endif
