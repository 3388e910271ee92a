/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The k3s engine: `k3s server` (or `k3s agent` joining --server) as the one daemon of usernode's init, in the
 * namespaces usernode makes for every node (engine-init.c, init/k3s.c). Here: the user's kubeconfig of a k3s
 * server, once its Node is Ready. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"
#include "init.h"
#include "up.h"
#include "util.h"

/* k3s's kubeconfig with its server line ("server: https://127.0.0.1:6443", as the API server is reached inside
 * the node) pointing where usernode published the API server instead. */
static int kubeconfig_published(const char *text, const char *url, struct buf *out, struct un_error *err) {
        unsigned servers = 0;

        for (const char *line = text; *line;) {
                const char *end = strchrnul(line, '\n'), *p = line;
                int k;

                while (*p == ' ')
                        p++;
                if (startswith(p, "server: ")) {
                        servers++;
                        k = buf_printf(out, "%.*sserver: %s", (int) (p - line), line, url);
                } else
                        k = buf_printf(out, "%.*s", (int) (end - line), line);
                if (k < 0 || (*end && buf_puts(out, "\n") < 0))
                        return un_error(err, ENOMEM, "kubeconfig");
                line = *end ? end + 1 : end;
        }
        if (servers != 1)
                return un_error(err, EBADMSG, "k3s's kubeconfig names %u servers, not one", servers);
        return 0;
}

static int ready(const struct node *n, const struct up_options *o, struct node_status *s, struct un_error *err) {
        _cleanup_free_ char *src = node_runtime_path(n, INIT_K3S_KUBECONFIG), *dst = node_kubeconfig_path(n);
        _cleanup_free_ char *text = NULL, *dir = NULL, *url = NULL;
        const struct host *h = host_live();
        struct buf out = {};
        int r;

        if (o->server)
                return 0;
        if (!src || !dst)
                return un_error(err, ENOMEM, "kubeconfig");
        r = host_read_file(h, src, HOST_FILE_MAX, &text, NULL);
        if (r < 0)
                return un_error(err, -r, "k3s is ready but wrote no kubeconfig at %s", src);
        url = xstrdup_printf("https://%s:%u", up_apiserver_address(o), (unsigned) o->apiserver_port);
        if (!url)
                return un_error(err, ENOMEM, "kubeconfig");
        r = kubeconfig_published(text, url, &out, err);
        explicit_bzero(text, strlen(text));
        if (r < 0) {
                buf_free(&out);
                return r;
        }
        dir = strdup(dst);
        if (dir && strrchr(dir, '/')) {
                *strrchr(dir, '/') = '\0';
                (void) mkdir(dir, 0700);
        }
        r = host_write_atomic(h, dst, out.data, out.len, 0600, (uid_t) -1, (gid_t) -1, err);
        explicit_bzero(out.data, out.len);
        buf_free(&out);
        if (r < 0)
                return r;
        free(s->kubeconfig);
        s->kubeconfig = TAKE_PTR(dst);
        return 0;
}

const struct node_engine engine_k3s = {
        .id = ENGINE_K3S,
        .name = "k3s",
        .command = node_init_command,
        .ready = ready,
};
