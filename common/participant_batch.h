/*  participant_batch.h - the requests a participant has in hand
    Decoding, parking (delay_ms), group-committed batches and replies.

    Private to the runtime (participant.c), which feeds it the messages it
    drains from the links, and runs the batch once per turn.  A batch is
    begin, every handler, commit; only then do its replies leave, each on
    the link its request came from.
*/
#ifndef CK_PARTICIPANT_BATCH_H_INCLUDED
#define CK_PARTICIPANT_BATCH_H_INCLUDED

#include <czmq.h>
#include "checkout/participant.h"
#include "participant_link.h"

typedef struct _participant_batch_t participant_batch_t;

//  Creates the batch for a checked config with defaults applied, replying
//  on links.  Both are borrowed and must outlive the batch.  Returns it,
//  owned by the caller.
participant_batch_t *participant_batch_new (const ck_participant_config_t *config,
                                            participant_link_t **links);

//  Destroys the batch, dropping what it holds; safe on NULL, nulls *self_p.
void participant_batch_destroy (participant_batch_t **self_p);

//  Handles one message received on links [link] (the caller closes it
//  after): a request joins the batch, is parked, or is answered error at
//  once; DISCONNECT restarts the link; bad input is logged and counted.
//  The caller must not call this while participant_batch_full ().
void participant_batch_message (participant_batch_t *self, size_t link, ck_message_t *message,
                                int64_t now);

//  True when the batch holds max_batch requests.  Can't fail.
bool participant_batch_full (participant_batch_t *self);

//  Moves parked requests that are due into the batch, while it has room.
void participant_batch_take_due (participant_batch_t *self, int64_t now);

//  Runs the batch (begin, handlers, commit) and then sends its replies.
//  Returns the number of requests handled (0 when the batch was empty).
size_t participant_batch_run (participant_batch_t *self);

//  When the earliest / latest parked request is due; INT64_MAX / INT64_MIN
//  when none is parked.
int64_t participant_batch_next_due (participant_batch_t *self);
int64_t participant_batch_last_due (participant_batch_t *self);

//  Requests parked now.
size_t participant_batch_parked (participant_batch_t *self);

//  The counters this module keeps (all but reconnects and in_hand).
//  Borrowed: valid while the batch lives.
const ck_participant_stats_t *participant_batch_stats (participant_batch_t *self);

#endif
