/* process_vm_writev into a child's private page that is still shared copy-on-write with the parent: the child
 * has read the page (so it is mapped), the parent writes into the child's copy, then writes its own copy in
 * place. The child must see the written bytes, never the parent's later ones; the parent keeps its own.
 * Then the same from a sibling: a second child writes into the first one's copy-on-write pages. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/* Two private pages of a mapping of their own: nothing else the child writes after fork (libc's data, its
 * stack) shares their copy-on-write block. */
static char *page, *second;

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return 1;
    second = page + 4096;
    strcpy(page, "before fork");
    strcpy(second, "untouched");
    int ready[2], go[2];
    if (pipe(ready) != 0 || pipe(go) != 0)
        return 1;
    pid_t c = fork();
    if (c == 0) {
        /* Read both pages so that they are mapped in this process before the parent writes. */
        volatile char sink = page[0] + second[0];
        (void)sink;
        char b = 0;
        if (write(ready[1], &b, 1) != 1 || read(go[0], &b, 1) != 1)
            _exit(1);
        printf("child sees: %s / %s\n", page, second);
        /* The child's own write lands in its copy only. */
        strcpy(page, "child wrote");
        printf("child after its write: %s\n", page);
        _exit(0);
    }
    char b;
    if (read(ready[0], &b, 1) != 1)
        return 1;
    char msg[] = "written by process_vm_writev";
    struct iovec local = {msg, sizeof msg};
    struct iovec remote = {page, sizeof msg};
    printf("process_vm_writev: %zd\n", process_vm_writev(c, &local, 1, &remote, 1, 0));
    /* A scattered write across two pages of the child, the second one also copy-on-write. */
    char a1[] = "first";
    char a2[] = "second half";
    struct iovec locals[2] = {{a1, sizeof a1}, {a2, sizeof a2}};
    struct iovec remotes[1] = {{second, sizeof a1 + sizeof a2}};
    printf("scattered: %zd\n", process_vm_writev(c, locals, 2, remotes, 1, 0));
    /* Now the parent is the only user of its copies: it writes them in place. */
    strcpy(page, "the parent's own text");
    strcpy(second, "parent again");
    printf("parent sees: %s / %s\n", page, second);
    if (write(go[1], &b, 1) != 1)
        return 1;
    int status;
    waitpid(c, &status, 0);
    printf("child exit: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    printf("parent at the end: %s / %s\n", page, second);

    /* A sibling writes: neither process forked the other. */
    strcpy(page, "before the second fork");
    if (pipe(ready) != 0 || pipe(go) != 0)
        return 1;
    pid_t target = fork();
    if (target == 0) {
        volatile char sink = page[0];
        (void)sink;
        char t = 0;
        if (write(ready[1], &t, 1) != 1 || read(go[0], &t, 1) != 1)
            _exit(1);
        printf("target sees: %s\n", page);
        _exit(0);
    }
    if (read(ready[0], &b, 1) != 1)
        return 1;
    pid_t writer = fork();
    if (writer == 0) {
        char w[] = "from the sibling";
        struct iovec l = {w, sizeof w};
        struct iovec r = {page, sizeof w};
        printf("sibling's process_vm_writev: %zd\n", process_vm_writev(target, &l, 1, &r, 1, 0));
        printf("sibling keeps: %s\n", page);
        _exit(0);
    }
    waitpid(writer, &status, 0);
    strcpy(page, "the parent's second text");
    if (write(go[1], &b, 1) != 1)
        return 1;
    waitpid(target, &status, 0);
    printf("parent keeps: %s\n", page);
    return 0;
}
