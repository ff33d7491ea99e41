/* Proton C anchor for bench/e2e.py: send COUNT messages of 1 KiB, wait for every outcome.
 *
 * Usage: proton_c_send HOST PORT ADDRESS COUNT
 * Built by the bench with gcc against Debian's libqpid-proton (proactor API). Sends as
 * credit allows, counts the settled outcomes, and prints one JSON line: wall and CPU
 * seconds from the first credit to the last outcome, and how many were accepted.
 */
#include <proton/connection.h>
#include <proton/condition.h>
#include <proton/delivery.h>
#include <proton/link.h>
#include <proton/message.h>
#include <proton/proactor.h>
#include <proton/session.h>
#include <proton/transport.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long count, sent, settled, accepted;
static double wall0, cpu0, wall, cpu;
static pn_rwbytes_t buf;

static double now(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void send_one(pn_link_t *sender, pn_message_t *msg) {
  char tag[24];
  int n = snprintf(tag, sizeof tag, "%ld", sent);
  pn_delivery(sender, pn_dtag(tag, (size_t)n));
  if (pn_message_send(msg, sender, &buf) < 0) {
    fprintf(stderr, "send: %s\n", pn_error_text(pn_message_error(msg)));
    exit(1);
  }
  sent++;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s HOST PORT ADDRESS COUNT\n", argv[0]);
    return 2;
  }
  count = atol(argv[4]);
  static char body[1024];
  memset(body, 'x', sizeof body);
  pn_message_t *msg = pn_message();
  pn_data_put_binary(pn_message_body(msg), pn_bytes(sizeof body, body));

  pn_proactor_t *proactor = pn_proactor();
  pn_connection_t *conn = pn_connection();
  pn_connection_set_container(conn, "amqp10-bench-proton-c");
  pn_connection_open(conn);
  pn_session_t *ssn = pn_session(conn);
  pn_session_open(ssn);
  pn_link_t *sender = pn_sender(ssn, "bench-proton-c");
  pn_terminus_set_address(pn_link_target(sender), argv[3]);
  pn_link_open(sender);
  char addr[PN_MAX_ADDR];
  pn_proactor_addr(addr, sizeof addr, argv[1], argv[2]);
  pn_proactor_connect2(proactor, conn, NULL, addr);

  int done = 0, failed = 0;
  while (!done) {
    pn_event_batch_t *batch = pn_proactor_wait(proactor);
    pn_event_t *e;
    while ((e = pn_event_batch_next(batch))) {
      switch (pn_event_type(e)) {
      case PN_LINK_FLOW:
        if (wall0 == 0) {
          wall0 = now(CLOCK_MONOTONIC);
          cpu0 = now(CLOCK_PROCESS_CPUTIME_ID);
        }
        while (pn_link_credit(sender) > 0 && sent < count)
          send_one(sender, msg);
        break;
      case PN_DELIVERY: {
        pn_delivery_t *d = pn_event_delivery(e);
        if (pn_delivery_updated(d) && pn_delivery_remote_state(d)) {
          if (pn_delivery_remote_state(d) == PN_ACCEPTED) accepted++;
          pn_delivery_settle(d);
          if (++settled == count) {
            wall = now(CLOCK_MONOTONIC) - wall0;
            cpu = now(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
            pn_connection_close(conn);
          }
        }
        break;
      }
      case PN_TRANSPORT_CLOSED: {
        pn_condition_t *c = pn_transport_condition(pn_event_transport(e));
        if (pn_condition_is_set(c)) {
          fprintf(stderr, "%s: %s\n", pn_condition_get_name(c), pn_condition_get_description(c));
          failed = 1;
        }
        break;
      }
      case PN_PROACTOR_INACTIVE:
        done = 1;
        break;
      default:
        break;
      }
    }
    pn_proactor_done(proactor, batch);
  }
  pn_proactor_free(proactor);
  pn_message_free(msg);
  free(buf.start);
  if (failed || settled != count) return 1;
  printf("{\"wall\": %.6f, \"cpu\": %.6f, \"accepted\": %ld}\n", wall, cpu, accepted);
  return 0;
}
