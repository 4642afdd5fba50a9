/* tui/term.c — see term.h. */
#include "tui/term.h"
#include "tui/theme.h"

#include <curses.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_quit;
static volatile sig_atomic_t g_active;     /* curses is on */
static int g_saved_stderr = -1;            /* the real stderr while redirected */
static FILE *g_stderr_file;                /* where stderr goes meanwhile */

static void on_quit_signal(int sig)
{
    g_quit = sig;
}

/* Fatal: give the terminal back (endwin, like htop's CRT_done in its
 * handlers), put stderr back, then die of the same signal. */
static void on_fatal_signal(int sig)
{
    if (g_active) endwin();
    if (g_saved_stderr >= 0) dup2(g_saved_stderr, 2);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_quit_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_fatal_signal;
    sa.sa_flags = SA_RESETHAND;
    const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) sigaction(fatal[i], &sa, NULL);
}

static void redirect_stderr(void)
{
    fflush(stderr);
    g_stderr_file = tmpfile();
    if (!g_stderr_file) return;
    g_saved_stderr = dup(2);
    if (g_saved_stderr < 0 || dup2(fileno(g_stderr_file), 2) < 0) {
        fclose(g_stderr_file);
        g_stderr_file = NULL;
        g_saved_stderr = -1;
    }
}

static void restore_stderr(void)
{
    if (g_saved_stderr < 0) return;
    fflush(stderr);
    dup2(g_saved_stderr, 2);
    close(g_saved_stderr);
    g_saved_stderr = -1;
    char buf[4096];
    size_t n;
    rewind(g_stderr_file);
    while ((n = fread(buf, 1, sizeof buf, g_stderr_file)) > 0) fwrite(buf, 1, n, stderr);
    fclose(g_stderr_file);
    g_stderr_file = NULL;
}

int term_start(bool mono, bool ascii)
{
    setlocale(LC_ALL, "");
    if (!isatty(1) || !isatty(0)) {
        fprintf(stderr, "infertop: tui: stdin and stdout must be a terminal\n");
        return -1;
    }
    install_signals();
    redirect_stderr();
    if (!newterm(NULL, stdout, stdin)) {   /* unlike initscr, returns NULL on failure */
        restore_stderr();
        fprintf(stderr, "infertop: tui: could not initialize the terminal (TERM=%s)\n", getenv("TERM"));
        return -1;
    }
    g_active = 1;
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED, NULL);
    mouseinterval(0);
    set_escdelay(25);
    theme_init(mono, ascii);
    return 0;
}

void term_stop(void)
{
    if (g_active) {
        endwin();
        g_active = 0;
    }
    restore_stderr();
}

bool term_quit_requested(void)
{
    return g_quit != 0;
}

int term_quit_status(void)
{
    /* Ctrl-C is the keyboard's q; a signal from elsewhere says so (128 + n, as a shell would) */
    return g_quit == 0 || g_quit == SIGINT ? 0 : 128 + (int)g_quit;
}
