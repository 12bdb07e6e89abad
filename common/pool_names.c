/* pool_names.c - how a task message names its task. A forked worker and a
 * thread share the parent's addresses, so there a task is its address. The
 * ranks of an MPI job are separate programs, each loaded at its own
 * address, so in the MPI build a task is its offset in the program's
 * executable, which means the same function only in the same build: the
 * worker rank compares build ids (pool_mpi.c) before it runs anything. */
#include "pool_wire.h"

#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#ifndef POOL_MPI

uint64_t task_name(pool_task_fn fn)
{
    return (uint64_t)(uintptr_t)fn;
}

pool_task_fn task_lookup(uint64_t name, char *why, size_t size)
{
    (void)why;
    (void)size;
    return (pool_task_fn)(uintptr_t)name;
}

#else

/* The executable as loaded here: where it starts, the range of its
 * segments, the range of its code, and its build id. */
static struct image {
    uintptr_t base;
    uintptr_t lo, hi;           /* every PT_LOAD segment */
    uintptr_t text_lo, text_hi; /* the executable ones */
    unsigned char id[64];
    size_t id_len;
} image;
static pthread_once_t image_once = PTHREAD_ONCE_INIT;
static const char *refused; /* set once, before the worker loop runs */

static void read_build_id(const ElfW(Phdr) *ph, uintptr_t base)
{
    const unsigned char *p = (const unsigned char *)(base + ph->p_vaddr);
    const unsigned char *end = p + ph->p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
        const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
        const unsigned char *name = p + sizeof *n;
        const unsigned char *desc = name + ((n->n_namesz + 3) & ~3u);
        if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
            desc + n->n_descsz <= end && n->n_descsz <= sizeof image.id) {
            memcpy(image.id, desc, n->n_descsz);
            image.id_len = n->n_descsz;
            return;
        }
        p = desc + ((n->n_descsz + 3) & ~3u);
    }
}

/* dl_iterate_phdr() visits the executable first. */
static int first_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    image.base = info->dlpi_addr;
    image.lo = UINTPTR_MAX;
    image.text_lo = UINTPTR_MAX;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (ph->p_type == PT_NOTE && !image.id_len)
            read_build_id(ph, info->dlpi_addr);
        if (ph->p_type != PT_LOAD)
            continue;
        image.lo = lo < image.lo ? lo : image.lo;
        image.hi = hi > image.hi ? hi : image.hi;
        if (ph->p_flags & PF_X) {
            image.text_lo = lo < image.text_lo ? lo : image.text_lo;
            image.text_hi = hi > image.text_hi ? hi : image.text_hi;
        }
    }
    return 1; /* the executable is all we need */
}

static void image_load(void)
{
    dl_iterate_phdr(first_object, NULL); /* returns first_object's 1 */
}

size_t image_build_id(unsigned char id[64])
{
    pthread_once(&image_once, image_load);
    memcpy(id, image.id, image.id_len);
    return image.id_len;
}

void task_names_refuse(const char *why)
{
    refused = why;
}

uint64_t task_name(pool_task_fn fn)
{
    pthread_once(&image_once, image_load);
    uintptr_t p = (uintptr_t)fn;
    if (p < image.text_lo || p >= image.text_hi)
        return TASK_UNNAMED; /* a shared library's, say: the worker says so */
    return p - image.base;
}

pool_task_fn task_lookup(uint64_t name, char *why, size_t size)
{
    pthread_once(&image_once, image_load);
    if (refused) {
        snprintf(why, size, "%s", refused);
        return NULL;
    }
    if (name == TASK_UNNAMED) {
        snprintf(why, size, "the task is not a function of the program's executable "
                            "(a shared library's?), so a worker rank cannot name it");
        return NULL;
    }
    uintptr_t p = image.base + (uintptr_t)name;
    if (name >= UINTPTR_MAX - image.base || p < image.text_lo || p >= image.text_hi) {
        snprintf(why, size, "no task at offset 0x%llx of this rank's executable",
                 (unsigned long long)name);
        return NULL;
    }
    return (pool_task_fn)p;
}

uint64_t image_data_name(const void *ptr)
{
    pthread_once(&image_once, image_load);
    uintptr_t p = (uintptr_t)ptr;
    return p >= image.lo && p < image.hi ? p - image.base : TASK_UNNAMED;
}

void *image_data_lookup(uint64_t name)
{
    pthread_once(&image_once, image_load);
    uintptr_t p = image.base + (uintptr_t)name;
    if (name == TASK_UNNAMED || name >= image.hi - image.base || p < image.lo)
        return NULL;
    return (void *)p;
}

#endif
