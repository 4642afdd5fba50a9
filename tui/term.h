/* tui/term.h — the terminal while curses owns it: start/stop curses, send
 * stderr to a temp file (printed after exit, so nothing is ever written over
 * the screen), and signal handlers that only set a flag (SIGINT, SIGTERM,
 * SIGHUP) or restore the terminal and re-raise (fatal signals). */
#ifndef INFERTOP_TERM_H
#define INFERTOP_TERM_H

#include <stdbool.h>

/* Curses on the controlling terminal: cbreak, no echo, keypad, hidden cursor,
 * mouse clicks, theme (mono: no colors; ascii: no UTF-8 glyphs). 0, or -1
 * when stdout is not a terminal curses can drive (message on stderr). */
int  term_start(bool mono, bool ascii);
/* Leave curses, restore stderr and print what was written to it meanwhile. */
void term_stop(void);
/* SIGINT/SIGTERM/SIGHUP arrived. */
bool term_quit_requested(void);
/* The exit status the quit asks for: 0 for q or SIGINT (Ctrl-C), 128 + the
 * signal for SIGTERM and SIGHUP (scripts can tell). */
int  term_quit_status(void);

#endif
