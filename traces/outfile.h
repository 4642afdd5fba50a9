/* traces/outfile.h — every output file infertop writes (--json, --record,
 * --trace, --nvtxt, replay --export) goes through here.
 *
 * What is at the path decides how it is written:
 *   nothing, or a regular file   written to a temp file beside it (F.PID.N.tmp,
 *                                created O_EXCL) and renamed over F on success:
 *                                never a half-written file; on failure F is
 *                                left as it was and the temp file removed
 *   a symlink                    followed and its target written in place
 *                                (opened O_TRUNC, not atomically): the link
 *                                and the file it names stay what they are; a
 *                                link to nothing is an error
 *   a character device, FIFO,    written directly (a FIFO waits for a reader);
 *   socket                       never replaced by a regular file
 *   a directory                  an error
 * Every write, the flush and the close are checked (the stream writes through
 * a cookie that keeps the first errno), so a full device fails with its reason.
 *
 * outfile_check says before a long run whether the path can be written at
 * all (its directory exists and is writable, or the special file opens). */
#ifndef INFERTOP_TRACES_OUTFILE_H
#define INFERTOP_TRACES_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct outfile_sink;

struct outfile {
    FILE *f;                  /* write here between open and close */
    char path[1024];          /* as given */
    char tmp[1100];           /* temp file when replacing atomically, else "" */
    struct outfile_sink *sink;
};

/* Can `path` be written? 0 yes; -1 with "PATH: why" in err. Creates nothing. */
int  outfile_check(const char *path, char *err, size_t errlen);
/* Open for writing as described above. 0 ok (o->f set); -1 with "PATH: why". */
int  outfile_open(struct outfile *o, const char *path, char *err, size_t errlen);
/* Flush and close; when ok and the file was written through a temp file,
 * rename it onto path. With ok false (the caller's content failed) the temp
 * file is removed. 0 when everything was written; -1 with "PATH: write
 * failed: REASON" in err (REASON from the first failed write, flush or close). */
int  outfile_close(struct outfile *o, bool ok, char *err, size_t errlen);
/* Close and drop whatever was written to a temp file (a failed run). */
void outfile_abort(struct outfile *o);
/* The first write error so far as text ("No space left on device"), or "" when none. */
const char *outfile_error(const struct outfile *o);

/* Write a whole buffer to path (open, write, close). 0 ok; -1 with err. */
int  outfile_write_all(const char *path, const char *text, size_t len, char *err, size_t errlen);

#endif
