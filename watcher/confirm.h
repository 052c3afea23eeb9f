/* confirm.h - rsyslog omprog's confirmMessages protocol: what to answer, and when. */
#ifndef AUTHRELAY_CONFIRM_H
#define AUTHRELAY_CONFIRM_H

#include <stddef.h>
#include <stdint.h>

/*
 * What rsyslog 8.2302 does (plugins/omprog/omprog.c, action.c): omprog
 * writes one line and reads one answer line before it writes the next,
 * so at most one line is ever unanswered. The answers mean:
 *
 *   OK                  this line and all before it are committed;
 *                       inside a transaction it also ends the
 *                       transaction (the next line gets a new BEGIN)
 *   DEFER_COMMIT        accepted, committed later (rsyslog keeps the
 *                       batch until COMMIT TRANSACTION is answered)
 *   PREVIOUS_COMMITTED  handled like DEFER_COMMIT; not used here
 *   anything else       an error: rsyslog suspends the action, resumes
 *                       it (restarting the program if it died) and
 *                       sends this same line again
 *
 * With useTransactions an action batch (up to queue.dequeueBatchSize
 * lines) is sent as BEGIN TRANSACTION, the lines, COMMIT TRANSACTION.
 * rsyslog's transaction loop (doTransaction, for modules without
 * commitTransaction, as omprog) re-sends after an error only the line
 * that failed, not the lines answered DEFER_COMMIT before it; but when
 * the answer to COMMIT TRANSACTION fails, actionCommit sends every line
 * of the batch again, one per transaction. Hence:
 *
 *   state IDLE (no transaction open)
 *     BEGIN TRANSACTION  -> OK at once; state TX
 *     a line             -> OK once its event (and every earlier one)
 *                           is committed or refused as bad data;
 *                           "ERROR queue full" at once when its event
 *                           finds the queue full (rsyslog re-sends it)
 *     COMMIT TRANSACTION -> OK once everything read is done (stray)
 *   state TX (lines go to the queue; the database batches them freely)
 *     a line             -> DEFER_COMMIT at once; if its event finds the
 *                           queue full it is not queued and the
 *                           transaction is marked refused
 *     COMMIT TRANSACTION -> OK once every event read so far is committed
 *                           or refused as bad data; "ERROR queue full"
 *                           at once if the transaction was marked
 *                           refused (rsyslog re-sends the whole batch);
 *                           state IDLE
 *     BEGIN TRANSACTION  -> rsyslog abandoned the open transaction
 *                           (this program was restarted, or an answer
 *                           failed): OK, the events already queued are
 *                           still written; state TX
 *
 * A DEFER_COMMIT line counts as delivered for rsyslog once a later line
 * of its transaction is sent, not only when COMMIT TRANSACTION is
 * answered OK: if authrelayd dies while rsyslog waits for the answer to
 * a line, rsyslog sends again only from that line. So before a line's
 * event is answered DEFER_COMMIT at once it is appended to the journal
 * (confirm_journal, one write(2), no fsync: it outlives the process,
 * as rsyslog's own memory queue does not outlive the machine). The
 * journal holds exactly the lines answered DEFER_COMMIT whose events may
 * not be committed yet; it is emptied (ftruncate) when no transaction is
 * open and every event read is done, i.e. before COMMIT TRANSACTION gets
 * OK. At start the journal is read first: its lines are queued as if
 * just received (the database marks those already recorded as
 * redelivered) and stay in it until they are done. Without a journal,
 * or when the journal cannot be written, a line inside a transaction is
 * answered DEFER_COMMIT only once its own event is done: exact, but one
 * database commit per line.
 *
 * Every order of events then ends with each line rsyslog considers
 * delivered committed (or refused by the database as bad data, logged
 * as event=db_refused): batch failure and reconnect (the events stay
 * queued, the COMMIT answer waits), data errors (the batch is retried
 * one event at a time, the refused event is given up), SIGTERM (reading
 * goes on up to COMMIT TRANSACTION for at most the stop deadline; the
 * COMMIT answer is OK only if all is committed), SIGKILL (the journal).
 */

#define CONFIRM_PENDING_MAX 4096	/* rsyslog leaves at most one unanswered */
#define CONFIRM_TEXT_MAX 24
#define CONFIRM_JOURNALS_MAX 16	/* authrelayd children of one rsyslog action */

struct confirm {
	struct confirm_reply {
		uint64_t after_seq;	/* write once events up to this are done */
		char text[CONFIRM_TEXT_MAX];
	} ring[CONFIRM_PENDING_MAX];
	size_t head, len;
	int fd;
	int failed;		/* the reader is gone, or out of step */
	int in_tx;		/* between BEGIN and COMMIT TRANSACTION */
	int tx_refused;		/* a line of the open transaction was not queued */
	uint64_t tx_lines;	/* lines of the open transaction */
	int journal_fd;		/* -1: none */
	/* ours first, then those no running authrelayd held (taken over) */
	char *journal_names[CONFIRM_JOURNALS_MAX];
	size_t njournal_names;
	int journal_dirty;	/* it holds lines */
	uint64_t journal_seq;	/* newest event whose line it holds */
	uint64_t transactions, refused, restarted, replayed, journal_errors;
};

void confirm_init(struct confirm *c, int fd);

/*
 * Open (creating it, mode 0600) and lock a journal after the privilege
 * drop: path, or path.1 ... path.15 when another running authrelayd
 * (another worker of the same rsyslog action) holds the lock. Each is a
 * regular file owned by this user that no other user may write, not a
 * symlink. Returns 0, or -1 with *why_r set.
 */
int confirm_journal_open(struct confirm *c, const char *path, const char **why_r);

/*
 * Hand every line the journal holds to line_fn, which returns the
 * sequence number of the newest queued event afterwards. Returns the
 * number of lines.
 */
size_t confirm_journal_replay(struct confirm *c,
    uint64_t (*line_fn)(void *arg, const char *line, size_t len), void *arg);

void confirm_close(struct confirm *c);


/* The start-up answer omprog waits for. */
void confirm_ready(struct confirm *c);

/*
 * Answer one input line. last_seq: the sequence number of the newest
 * queued event; queued: the line made that event; full: the line's
 * event found the queue full and was not queued. Returns 1 when the
 * line was a transaction mark (no login), 0 otherwise.
 */
int confirm_line(struct confirm *c, const char *line, size_t len,
    uint64_t last_seq, int queued, int full);

/* Is the line a transaction mark (it is then never parsed as a login)? */
int confirm_is_mark(const char *line, size_t len);

/* Write every answer whose events are done (seq <= done_seq), in order. */
void confirm_flush(struct confirm *c, uint64_t done_seq);

/* Answers still waiting for the database. */
size_t confirm_pending(const struct confirm *c);

#endif
