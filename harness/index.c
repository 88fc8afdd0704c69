/* index.c - results/index.html: every run of a results store on one self-contained page. */
#include "harness/index.h"

#include "checker/report.h"
#include "common/alloc.h"
#include "common/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ==== One run ==== */

static void copy_str(char *dst, size_t cap, const json_t *v)
{
    if (json_is_string(v))
        snprintf(dst, cap, "%s", json_string_value(v));
}

void harness_index_run_parse(const char *results_json, const char *scenario_json,
                             struct harness_index_run *run)
{
    json_t *res = results_json ? json_loads(results_json, 0, NULL) : NULL;
    json_t *sc = scenario_json ? json_loads(scenario_json, 0, NULL) : NULL;
    snprintf(run->verdict, sizeof run->verdict, "?");
    run->seed = -1;
    if (json_is_object(res)) {
        copy_str(run->verdict, sizeof run->verdict, json_object_get(res, "verdict"));
        copy_str(run->scenario, sizeof run->scenario, json_object_get(res, "title"));
        copy_str(run->expected, sizeof run->expected, json_object_get(res, "expected"));
        copy_str(run->model, sizeof run->model, json_object_get(res, "model"));
        /* results.json carries the scenario as run; scenario.json wins when present. */
        if (!json_is_object(sc) && json_is_object(json_object_get(res, "scenario"))) {
            json_decref(sc);
            sc = json_incref(json_object_get(res, "scenario"));
        }
    }
    if (json_is_object(sc)) {
        copy_str(run->scenario, sizeof run->scenario, json_object_get(sc, "name"));
        copy_str(run->expected, sizeof run->expected, json_object_get(sc, "expected"));
        json_t *impl = json_object_get(sc, "implementation");
        const char *name = json_string_value(json_object_get(impl, "impl"));
        const char *bug = json_string_value(json_object_get(impl, "bug"));
        if (name && bug && *bug)
            snprintf(run->impl, sizeof run->impl, "%s:bug=%s", name, bug);
        else if (name)
            snprintf(run->impl, sizeof run->impl, "%s", name);
        json_t *seed = json_object_get(json_object_get(sc, "nemesis"), "seed");
        if (json_is_integer(seed) && json_integer_value(seed) >= 0)
            run->seed = json_integer_value(seed);
        if (!run->model[0])
            copy_str(run->model, sizeof run->model,
                     json_object_get(json_object_get(sc, "workload"), "model"));
    }
    json_decref(res);
    json_decref(sc);
}

/* ==== The scan ==== */

/* The text of `path` when it is a regular file of at most HARNESS_INDEX_FILE_MAX bytes
 * (never through a symbolic link); NULL otherwise. fl_free it. */
static char *read_bounded(const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *text = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size <= HARNESS_INDEX_FILE_MAX &&
        (text = fl_malloc((size_t)st.st_size + 1)) != NULL) {
        size_t got = 0;
        ssize_t r;
        while (got < (size_t)st.st_size &&
               (r = read(fd, text + got, (size_t)st.st_size - got)) > 0)
            got += (size_t)r;
        text[got] = '\0';
    }
    close(fd);
    return text;
}

struct scan {
    const char *root;
    struct harness_index_run *runs;
    size_t n, cap;
    bool full;
    int err;
};

static void add_run(struct scan *s, const char *rel, const char *abs)
{
    if (s->n == HARNESS_INDEX_MAX_RUNS) {
        s->full = true;
        return;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct harness_index_run *r = fl_reallocarray(s->runs, cap, sizeof *r);
        if (!r) {
            s->err = FL_ENOMEM;
            return;
        }
        s->runs = r;
        s->cap = cap;
    }
    struct harness_index_run *run = &s->runs[s->n];
    memset(run, 0, sizeof *run);
    snprintf(run->path, sizeof run->path, "%s", rel);
    char p[1024];
    snprintf(p, sizeof p, "%s/results.json", abs);
    struct stat st;
    if (lstat(p, &st) == 0)
        run->when = st.st_mtime;
    char *res = read_bounded(p);
    snprintf(p, sizeof p, "%s/scenario.json", abs);
    char *sc = read_bounded(p);
    harness_index_run_parse(res, sc, run);
    fl_free(res);
    fl_free(sc);
    snprintf(p, sizeof p, "%s/report.html", abs);
    run->has_report = lstat(p, &st) == 0 && S_ISREG(st.st_mode);
    if (!run->scenario[0])
        snprintf(run->scenario, sizeof run->scenario, "?");
    s->n++;
}

static void walk(struct scan *s, const char *rel, unsigned depth)
{
    char abs[1024];
    if (rel[0])
        snprintf(abs, sizeof abs, "%s/%s", s->root, rel);
    else
        snprintf(abs, sizeof abs, "%s", s->root);
    char p[1100];
    struct stat st;
    snprintf(p, sizeof p, "%s/results.json", abs);
    if (rel[0] && lstat(p, &st) == 0 && S_ISREG(st.st_mode)) {
        add_run(s, rel, abs);
        return; /* a run's own folders (nodes/, shrink/) are not runs of the store */
    }
    if (depth == HARNESS_INDEX_MAX_DEPTH)
        return;
    DIR *d = opendir(abs);
    if (!d)
        return;
    struct dirent *e;
    while (!s->full && s->err == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char child[1024];
        int len = rel[0] ? snprintf(child, sizeof child, "%s/%s", rel, e->d_name)
                         : snprintf(child, sizeof child, "%s", e->d_name);
        if (len < 0 || (size_t)len >= sizeof child - 64)
            continue;
        snprintf(p, sizeof p, "%s/%s", abs, e->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) /* lstat: never follows results/latest */
            walk(s, child, depth + 1);
    }
    closedir(d);
}

static int newest_first(const void *a, const void *b)
{
    const struct harness_index_run *x = a, *y = b;
    if (x->when != y->when)
        return x->when < y->when ? 1 : -1;
    return strcmp(x->path, y->path);
}

int harness_index_scan(const char *root, struct harness_index_run **runs, size_t *n, char *errmsg)
{
    struct stat st;
    if (stat(root, &st) != 0)
        return fl_errorf(errmsg, -errno, "%s: %s", root, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fl_errorf(errmsg, -ENOTDIR, "%s: not a folder", root);
    struct scan s = {.root = root};
    walk(&s, "", 0);
    if (s.err != 0) {
        fl_free(s.runs);
        return fl_errorf(errmsg, s.err, "%s: %s", root, fl_strerror(s.err));
    }
    if (s.n > 1)
        qsort(s.runs, s.n, sizeof *s.runs, newest_first);
    *runs = s.runs;
    *n = s.n;
    return 0;
}

/* ==== The page ==== */

static void esc(struct fl_buf *out, const char *s)
{
    checker_html_escape(out, s, 512);
}

static const char PAGE_STYLE[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;width:100%}th,td{padding:3px 8px;border-bottom:1px solid #ddd;"
    "text-align:left}th{background:#f3f3f3;position:sticky;top:0}"
    ".valid{color:#17702b}.invalid{color:#b3261e;font-weight:bold}.unknown{color:#8a6d00}"
    ".unexpected{background:#fff0f0}#filters{margin:0 0 1em}#filters label{margin-right:1em}"
    "#count{color:#666}";

/* Filters: one select per column with a fixed set of values, and free text over the rest. */
static const char PAGE_SCRIPT[] =
    "(function(){var rows=[].slice.call(document.querySelectorAll('#runs tbody tr'));"
    "var sel=[].slice.call(document.querySelectorAll('#filters select'));"
    "var text=document.getElementById('q');"
    "sel.forEach(function(s){var seen={};rows.forEach(function(r){seen[r.dataset[s.name]]=1});"
    "Object.keys(seen).sort().forEach(function(v){var o=document.createElement('option');"
    "o.value=v;o.textContent=v;s.appendChild(o)});s.onchange=apply});text.oninput=apply;"
    "function apply(){var q=text.value.toLowerCase(),shown=0;rows.forEach(function(r){"
    "var ok=sel.every(function(s){return !s.value||r.dataset[s.name]===s.value})&&"
    "(!q||r.textContent.toLowerCase().indexOf(q)>=0);r.style.display=ok?'':'none';if(ok)shown++});"
    "document.getElementById('count').textContent=shown+' of '+rows.length+' runs'}apply()})();";

void harness_index_html(const struct harness_index_run *runs, size_t n, const char *title,
                        struct fl_buf *out)
{
    unsigned count[4] = {0};
    for (size_t i = 0; i < n; i++) {
        const char *v = runs[i].verdict;
        count[!strcmp(v, "valid") ? 0 : !strcmp(v, "invalid") ? 1 : !strcmp(v, "unknown") ? 2 : 3]++;
    }
    fl_buf_puts(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Faultline runs: ");
    esc(out, title);
    fl_buf_printf(out, "</title><style>%s</style></head><body>\n<h1>Runs in ", PAGE_STYLE);
    esc(out, title);
    fl_buf_printf(out,
                  "</h1>\n<p>%zu runs: %u valid, %u invalid, %u unknown, %u without a verdict. "
                  "Newest first; a red row did not give its scenario's expected verdict.</p>\n",
                  n, count[0], count[1], count[2], count[3]);
    fl_buf_puts(out, "<div id=\"filters\">"
                     "<label>scenario <select name=\"scenario\"><option value=\"\">all</option>"
                     "</select></label>"
                     "<label>implementation <select name=\"impl\"><option value=\"\">all</option>"
                     "</select></label>"
                     "<label>verdict <select name=\"verdict\"><option value=\"\">all</option>"
                     "</select></label>"
                     "<label>text <input id=\"q\" type=\"search\"></label> "
                     "<span id=\"count\"></span></div>\n");
    fl_buf_puts(out, "<table id=\"runs\"><thead><tr><th>date (UTC)</th><th>scenario</th>"
                     "<th>implementation</th><th>seed</th><th>model</th><th>verdict</th>"
                     "<th>expected</th><th>run</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < n; i++) {
        const struct harness_index_run *r = &runs[i];
        char date[32] = "?";
        struct tm tm;
        if (r->when && gmtime_r(&r->when, &tm))
            strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
        bool unexpected = r->expected[0] && strcmp(r->expected, "any") != 0 &&
                          strcmp(r->expected, r->verdict) != 0;
        fl_buf_puts(out, "<tr data-scenario=\"");
        esc(out, r->scenario);
        fl_buf_puts(out, "\" data-impl=\"");
        esc(out, r->impl);
        fl_buf_puts(out, "\" data-verdict=\"");
        esc(out, r->verdict);
        fl_buf_printf(out, "\"%s><td>%s</td><td>", unexpected ? " class=\"unexpected\"" : "", date);
        esc(out, r->scenario);
        fl_buf_puts(out, "</td><td>");
        esc(out, r->impl);
        if (r->seed >= 0)
            fl_buf_printf(out, "</td><td>%lld</td><td>", (long long)r->seed);
        else
            fl_buf_puts(out, "</td><td></td><td>");
        esc(out, r->model);
        fl_buf_puts(out, "</td><td class=\"");
        esc(out, r->verdict);
        fl_buf_puts(out, "\">");
        esc(out, r->verdict);
        fl_buf_puts(out, "</td><td>");
        esc(out, r->expected);
        fl_buf_puts(out, "</td><td>");
        if (r->has_report) {
            /* The path is ours (a folder name under the store); escaping keeps it an attribute. */
            fl_buf_puts(out, "<a href=\"./");
            esc(out, r->path);
            fl_buf_puts(out, "/report.html\">");
            esc(out, r->path);
            fl_buf_puts(out, "</a>");
        } else {
            esc(out, r->path);
        }
        fl_buf_puts(out, "</td></tr>\n");
    }
    fl_buf_printf(out, "</tbody></table>\n<script>%s</script>\n</body></html>\n", PAGE_SCRIPT);
}

int harness_index_write(const char *root, size_t *n_runs, char *errmsg)
{
    struct harness_index_run *runs = NULL;
    size_t n = 0;
    int rv = harness_index_scan(root, &runs, &n, errmsg);
    if (rv != 0)
        return rv;
    struct fl_buf page;
    fl_buf_init(&page);
    harness_index_html(runs, n, root, &page);
    fl_free(runs);
    if (n_runs)
        *n_runs = n;
    if (page.oom) {
        fl_buf_free(&page);
        return fl_errorf(errmsg, FL_ENOMEM, "%s/index.html: out of memory", root);
    }
    char tmp[1024], path[1024];
    snprintf(path, sizeof path, "%s/index.html", root);
    snprintf(tmp, sizeof tmp, "%s/.index.html.%ld", root, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        rv = fl_errorf(errmsg, -errno, "%s: %s", tmp, strerror(errno));
    } else {
        bool ok = fwrite(page.data, 1, page.len, f) == page.len;
        ok = (fclose(f) == 0) && ok;
        if (!ok || rename(tmp, path) != 0) {
            rv = fl_errorf(errmsg, -EIO, "%s: could not write", path);
            unlink(tmp);
        }
    }
    fl_buf_free(&page);
    return rv;
}

void harness_index_refresh(const char *run_dir)
{
    /* Only the store of the working directory: a --out elsewhere is the user's own place. */
    if (!run_dir || strncmp(run_dir, "results/", 8) != 0)
        return;
    char err[FL_ERRMSG_SIZE];
    if (harness_index_write("results", NULL, err) != 0)
        fprintf(stderr, "faultline: warning: results/index.html: %s\n", err);
}

/* ==== faultline index ==== */

static void usage(FILE *out)
{
    fprintf(out, "usage: faultline index [DIR]\n"
                 "\n"
                 "Writes DIR/index.html (default DIR: results): every run found in DIR (a folder\n"
                 "with a results.json, at most %d levels down; symbolic links are not followed),\n"
                 "newest first, with scenario, implementation, seed, verdict, expected verdict,\n"
                 "date and a link to its report; filters by scenario, implementation, verdict\n"
                 "and text. One self-contained page. run, compare and campaign rewrite it when\n"
                 "their results are under results/.\n"
                 "\n"
                 "Exit 0, or 3 when DIR cannot be read or the page cannot be written.\n",
                 HARNESS_INDEX_MAX_DEPTH);
}

int harness_index_main(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        usage(stderr);
        return 3;
    }
    if (argc - optind > 1) {
        fprintf(stderr, "faultline index: one folder at most\n");
        return 3;
    }
    const char *root = optind < argc ? argv[optind] : "results";
    char err[FL_ERRMSG_SIZE];
    size_t n = 0;
    if (harness_index_write(root, &n, err) != 0) {
        fprintf(stderr, "faultline index: %s\n", err);
        return 3;
    }
    printf("index: %s/index.html (%zu runs)\n", root, n);
    return 0;
}
