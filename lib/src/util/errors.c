/* mpisnap_strerror: text for the MPISNAP_ERRNO_MAP codes. */
#include "mpisnap.h"

const char *mpisnap_strerror(int err)
{
    switch (err) {
    case MPISNAP_OK:
        return "success";
#define XX(name, text)                                                         \
    case MPISNAP_##name:                                                       \
        return text;
        MPISNAP_ERRNO_MAP(XX)
#undef XX
    default:
        return err > 0 ? "success" : "unknown mpisnap error";
    }
}
