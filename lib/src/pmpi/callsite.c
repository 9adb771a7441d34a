/* What identifies a communicator's creation across runs of the same
 * program: the creating call, its call site as (module, offset from the
 * module's load base, the module's build id) and the name the program gave
 * it.  Only snapshots and restarts ask (slow path). */
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmpi/pmpi.h"

#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif

struct module {
    uintptr_t addr;   /* the address looked for */
    uintptr_t base;   /* its module's load bias (dlpi_addr) */
    const char *name; /* its path, "" for the executable */
    char build[48];   /* GNU build id in hex, "" none */
    int found;
};

static void build_id(const struct dl_phdr_info *info, const ElfW(Phdr) * ph,
                     char *out, size_t n)
{
    size_t align = ph->p_align == 8 ? 8 : 4;
    const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
    const char *end = p + ph->p_memsz;

    while ((size_t)(end - p) >= sizeof(ElfW(Nhdr))) {
        const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)(const void *)p;
        const char *name = p + sizeof *nh;
        const unsigned char *desc = (const unsigned char *)name +
                                    ((nh->n_namesz + align - 1) & ~(align - 1));
        size_t i, len = 0;

        if ((const char *)desc + nh->n_descsz > end)
            return;
        if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
            !memcmp(name, "GNU", 4)) {
            for (i = 0; i < nh->n_descsz && len + 3 <= n; i++)
                len += (size_t)snprintf(out + len, n - len, "%02x", desc[i]);
            return;
        }
        p = (const char *)desc + ((nh->n_descsz + align - 1) & ~(align - 1));
    }
}

static int find_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct module *m = arg;
    int i, hit = 0;

    (void)size;
    for (i = 0; i < info->dlpi_phnum && !hit; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        hit = ph->p_type == PT_LOAD && m->addr >= lo &&
              m->addr - lo < ph->p_memsz;
    }
    if (!hit)
        return 0;
    m->found = 1;
    m->base = info->dlpi_addr;
    m->name = info->dlpi_name ? info->dlpi_name : "";
    for (i = 0; i < info->dlpi_phnum && !m->build[0]; i++)
        if (info->dlpi_phdr[i].p_type == PT_NOTE)
            build_id(info, &info->dlpi_phdr[i], m->build, sizeof m->build);
    return 1;
}

/* Basename of the running executable (not of argv[0]: a restart may start
 * it through another path). */
static const char *exe_name(void)
{
    static char name[128];

    if (!name[0]) {
        char path[4096];
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        const char *b;
        if (n <= 0)
            return "executable";
        path[n] = '\0';
        b = strrchr(path, '/');
        snprintf(name, sizeof name, "%.127s", b ? b + 1 : path);
    }
    return name;
}

void ms__comm_ident(const struct ms__comm *c, struct ms__commident *out)
{
    struct module m = {.addr = (uintptr_t)c->site};
    char name[MPI_MAX_OBJECT_NAME] = "";
    int len = 0;

    memset(out, 0, sizeof *out);
    if (!c->call)
        return; /* MPI_COMM_WORLD, MPI_COMM_SELF, not created by a wrapper */
    snprintf(out->call, sizeof out->call, "%s", c->call);
    if (c->site && dl_iterate_phdr(find_module, &m) && m.found) {
        const char *b = strrchr(m.name, '/');
        snprintf(out->module, sizeof out->module, "%s",
                 m.name[0] ? (b ? b + 1 : m.name) : exe_name());
        out->offset = (uint64_t)(m.addr - m.base);
        memcpy(out->build, m.build, sizeof out->build);
    }
    /* Open MPI names every communicator ("MPI COMM 3 DUP FROM 0"): only a
     * name the program set says something. */
    if (c->handle != MPI_COMM_NULL && !c->app_freed)
        PMPI_Comm_get_name(c->handle, name, &len);
    if (len > 0 && strncmp(name, "MPI COMM", 8) != 0)
        snprintf(out->name, sizeof out->name, "%s", name);
}
