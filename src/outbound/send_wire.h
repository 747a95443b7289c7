/*
 * send_wire.h - what a thread's SMTP session asks of the process-wide
 * write() and connect() (send_wire.c): TCP_NODELAY, gathered body
 * writes, the body splice over DATA.
 */
#ifndef HERALD_SEND_WIRE_H
#define HERALD_SEND_WIRE_H

#include <glib.h>

void send_wire_begin(int timeout_ms);
void send_wire_end(void);
void send_wire_tls(void);
gsize send_wire_body(const char *data, gsize size);
void send_wire_body_end(void);
void send_wire_hang_up(void);

#endif
