/*  protocol.h - the checkout saga wire protocol, version 1
    Limits, closed vocabularies and one typed struct per message body.

    Every body of docs/protocol.md has a struct here; codec.h turns them into
    msgpack and back.  Structs are plain values with fixed-size storage, so a
    decode never allocates and a decoded message never needs freeing.

    An optional field is absent when its storage is all zero: an empty string,
    an enum's NONE, a zero count, a nested map whose bytes are all zero.  The
    encoder leaves such fields out; the decoder leaves them zero.
*/
#ifndef CK_PROTOCOL_H_INCLUDED
#define CK_PROTOCOL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Protocol signatures (frame 1) and the message version we speak
#define CK_SIGNATURE_CLIENT "CKC1"
#define CK_SIGNATURE_WORKER "CKW1"
#define CK_VERSION          "1.0.0"
#define CK_VERSION_MAJOR    1

//  Limits of docs/protocol.md#limits; sizes include the terminating NUL
#define CK_MAX_BODY         65536       //  bytes; more is too_large
#define CK_ID_MAX           64
#define CK_ID_SIZE          (CK_ID_MAX + 1)
#define CK_MAX_ITEMS        100
#define CK_MAX_QTY          10000
#define CK_MAX_UNIT_PRICE   1000000000ULL
#define CK_MIN_CAPACITY     1
#define CK_MAX_CAPACITY     1024
#define CK_TEXT_MAX         256         //  free text: messages, endpoints
#define CK_TEXT_SIZE        (CK_TEXT_MAX + 1)
#define CK_NAME_MAX         32          //  short names: events, versions
#define CK_NAME_SIZE        (CK_NAME_MAX + 1)
#define CK_MAX_HISTORY      128         //  history entries in one RESULT
#define CK_MAX_STEPS        8           //  steps of one saga
#define CK_MAX_WORKERS      64          //  worker entries in one stats event
#define CK_MAX_LIST         100         //  sagas in one SAGAS reply
#define CK_BY_MAX           64          //  who asked for an operator command
#define CK_BY_SIZE          (CK_BY_MAX + 1)
#define CK_CANCEL_REASON_MAX 160        //  a cancel's reason text
#define CK_MAX_FAILED_REASONS 16        //  reason codes counted apart in stats
#define CK_LATENCY_BUCKETS  16          //  latency bounds in stats, at most
#define CK_MAX_PARTITIONS   1024        //  partitions of the saga log, at most
#define CK_DEFAULT_PARTITIONS 64

//  Error codes of ERROR bodies (docs/protocol.md#errors), a closed list
typedef enum {
    CK_OK = 0,
    CK_BAD_FRAME,
    CK_BAD_REQUEST,
    CK_AMOUNT_MISMATCH,
    CK_UNSUPPORTED_VERSION,
    CK_TOO_LARGE,
    CK_OVERLOADED,
    CK_CONFLICT,
    CK_UNKNOWN_CHECKOUT,
    CK_FORBIDDEN,
    CK_NOT_OWNER,
    CK_ERROR_CODE_COUNT
} ck_error_code_t;

//  Services, which are also the saga's step names.  The three of the
//  checkout saga are built in; a step table loaded at run time (saga_def.h)
//  adds its own with ck_service_add, numbered from CK_SERVICE_COUNT up.
typedef enum {
    CK_SERVICE_NONE = 0,
    CK_SERVICE_INVENTORY,
    CK_SERVICE_PAYMENT,
    CK_SERVICE_ORDER,
    CK_SERVICE_COUNT                    //  the built-in ones
} ck_service_t;
#define CK_SERVICE_MAX      16          //  built-in and added, with NONE

//  Request types of docs/protocol.md#types: forward actions and their compensations.  Built
//  in as services are; ck_type_add adds more from CK_TYPE_COUNT up.
typedef enum {
    CK_TYPE_NONE = 0,
    CK_TYPE_RESERVE_INVENTORY,
    CK_TYPE_RELEASE_INVENTORY,
    CK_TYPE_AUTHORIZE_PAYMENT,
    CK_TYPE_VOID_PAYMENT,
    CK_TYPE_CREATE_ORDER,
    CK_TYPE_COUNT                       //  the built-in ones
} ck_type_t;
#define CK_TYPE_MAX         32          //  built-in and added, with NONE

//  Outcomes of a step; TIMEOUT appears only in events and history
typedef enum {
    CK_OUTCOME_NONE = 0,
    CK_OUTCOME_OK,
    CK_OUTCOME_REJECTED,
    CK_OUTCOME_ERROR,
    CK_OUTCOME_TIMEOUT,
    CK_OUTCOME_COUNT
} ck_outcome_t;

//  Status of a checkout in RESULT
typedef enum {
    CK_STATUS_NONE = 0,
    CK_STATUS_CONFIRMED,
    CK_STATUS_FAILED,
    CK_STATUS_PENDING,
    CK_STATUS_STUCK,
    CK_STATUS_COUNT
} ck_status_t;

//  Where a saga stands, as operator commands list and filter it: running
//  (forward or compensating, not stuck), stuck (not ended, reported stuck),
//  confirmed, failed
typedef enum {
    CK_SAGA_STATE_NONE = 0,
    CK_SAGA_STATE_RUNNING,
    CK_SAGA_STATE_STUCK,
    CK_SAGA_STATE_CONFIRMED,
    CK_SAGA_STATE_FAILED,
    CK_SAGA_STATE_COUNT
} ck_saga_state_t;

//  Commands of frame 2, both protocols
typedef enum {
    CK_CMD_NONE = 0,
    //  client protocol, CKC1
    CK_CMD_CHECKOUT,
    CK_CMD_STATUS,
    CK_CMD_PING,
    CK_CMD_ACCEPTED,
    CK_CMD_RESULT,
    CK_CMD_ERROR,
    CK_CMD_PONG,
    //  worker protocol, CKW1
    CK_CMD_READY,
    CK_CMD_REQUEST,
    CK_CMD_REPLY,
    CK_CMD_HEARTBEAT,
    CK_CMD_DISCONNECT,
    //  client protocol, CKC1: operator commands and their replies
    CK_CMD_LIST,
    CK_CMD_DESCRIBE,
    CK_CMD_RETRY,
    CK_CMD_CANCEL,
    CK_CMD_SAGAS,
    CK_CMD_DESCRIPTION,
    CK_CMD_COUNT
} ck_command_t;

//  Wire names of the vocabularies above; NULL for NONE or out of range
const char *ck_error_code_name (ck_error_code_t code);   //  "bad_request"
const char *ck_error_code_text (ck_error_code_t code);   //  a sentence
const char *ck_service_name (ck_service_t service);      //  "inventory"
const char *ck_type_name (ck_type_t type);               //  "ReserveInventory"
const char *ck_outcome_name (ck_outcome_t outcome);      //  "ok"
const char *ck_status_name (ck_status_t status);         //  "confirmed"
const char *ck_command_name (ck_command_t command);      //  "CHECKOUT"
const char *ck_saga_state_name (ck_saga_state_t state);  //  "running"

//  The service that handles a request type; NONE for NONE
ck_service_t ck_type_service (ck_type_t type);

//  True for the compensation types (ReleaseInventory, VoidPayment)
bool ck_type_is_compensation (ck_type_t type);

//  The key under which an ok REPLY to type carries its result id
//  ("reservation_id"), or NULL when type returns none
const char *ck_type_result_key (ck_type_t type);

//  A stable number for type in stores: a built-in type's own value; an
//  added type's comes from its name (not from the order it was added in),
//  so a ledger never reads one type as another.  0 for NONE.
int32_t ck_type_code (ck_type_t type);

//  The partition of the saga log a checkout belongs to when coordinators
//  share it (docs/protocol.md#partitions): FNV-1a (32-bit) over the
//  checkout_id's bytes, modulo count.  Part of the contract: a client may
//  compute it to reach the owner first.  0 when count is 0.
uint32_t ck_partition_of (const char *checkout_id, uint32_t count);

//  The vocabularies grow only while a process starts, before any thread
//  reads them (saga_def_load calls these).  ck_service_add returns the
//  service called name, adding it if new; ck_type_add adds a request type
//  of service (or returns it, if an equal one is there).  result_key names
//  its ok result (NULL for none; a compensation has none).  Both return
//  NONE when the name is not an identifier of at most CK_NAME_MAX bytes,
//  when the vocabulary is full, or when name is taken by a different entry.
ck_service_t ck_service_add (const char *name);
ck_type_t ck_type_add (const char *name, ck_service_t service, bool compensation,
                       const char *result_key);

//  Reverse look-ups by wire name; return NONE (0) when unknown
ck_service_t ck_service_lookup (const char *name, size_t len);
ck_type_t ck_type_lookup (const char *name, size_t len);
ck_command_t ck_command_lookup (const char *name, size_t len);
ck_saga_state_t ck_saga_state_lookup (const char *name, size_t len);

//  -------------------------------------------------------------------------
//  Shared parts

typedef struct {
    char sku [CK_ID_SIZE];
    uint32_t qty;                       //  1..10000
    uint64_t unit_price;                //  0..10^9 minor units
} ck_item_t;

typedef struct {
    char country [3];                   //  two upper-case letters
} ck_ship_to_t;

//  Why a step or a checkout failed; absent when code is empty
typedef struct {
    char code [CK_ID_SIZE];             //  "out_of_stock", "timeout", ...
    char message [CK_TEXT_SIZE];
    char sku [CK_ID_SIZE];              //  optional: the line concerned
} ck_reason_t;

//  -------------------------------------------------------------------------
//  Client protocol (docs/protocol.md#client)

typedef struct {
    char checkout_id [CK_ID_SIZE];
    char cart_id [CK_ID_SIZE];
    char customer_id [CK_ID_SIZE];
    char currency [4];                  //  ISO 4217, three upper-case letters
    ck_item_t items [CK_MAX_ITEMS];
    uint32_t item_count;                //  1..100
    uint64_t amount;                    //  sum of qty * unit_price
    char payment_method [CK_ID_SIZE];
    ck_ship_to_t ship_to;
    bool ack;                           //  optional
} ck_checkout_t;

typedef struct {
    char checkout_id [CK_ID_SIZE];
} ck_status_request_t;

typedef struct {
    char checkout_id [CK_ID_SIZE];
    char saga_id [CK_ID_SIZE];
} ck_accepted_t;

typedef struct {
    uint64_t at_ms;                     //  wall clock, ms since the epoch
    char event [CK_NAME_SIZE];          //  "started", "step", "compensating" ...
    ck_service_t step;                  //  optional
    ck_type_t type;                     //  optional
    uint32_t attempt;                   //  optional
    ck_outcome_t outcome;               //  optional
    ck_reason_t reason;                 //  optional
} ck_history_entry_t;

typedef struct {
    char checkout_id [CK_ID_SIZE];
    char saga_id [CK_ID_SIZE];
    ck_status_t status;
    char order_id [CK_ID_SIZE];         //  when confirmed
    ck_service_t failed_step;           //  when failed
    ck_reason_t reason;                 //  when failed or stuck
    ck_service_t compensated [CK_MAX_STEPS];
    uint32_t compensated_count;
    uint64_t elapsed_us;
    ck_history_entry_t history [CK_MAX_HISTORY];
    uint32_t history_count;             //  only in replies to STATUS
} ck_result_t;

typedef struct {
    ck_error_code_t code;
    char message [CK_TEXT_SIZE];
    char checkout_id [CK_ID_SIZE];      //  optional
    //  optional, with not_owner: the frontend endpoint of the coordinator
    //  that owns the checkout's partition ("" when none owns it right now)
    char owner [CK_TEXT_SIZE];
} ck_error_t;

typedef struct {
    char version [CK_NAME_SIZE];
    uint64_t uptime_ms;
    //  optional: services of the saga that have had no live instance for
    //  a liveness period (a CHECKOUT now would be refused)
    ck_service_t unserved [CK_MAX_STEPS];
    uint32_t unserved_count;
} ck_pong_t;

//  -------------------------------------------------------------------------
//  Operator commands (client protocol; docs/operations.md)

//  LIST: one page of sagas, newest first
typedef struct {
    ck_saga_state_t status;             //  optional filter
    uint64_t since_ms;                  //  optional: accepted at or after
    uint32_t limit;                     //  optional: 1..CK_MAX_LIST; 0 = 20
    char cursor [CK_ID_SIZE];           //  optional: the `next` of the last page
} ck_list_t;

//  One saga of a SAGAS page
typedef struct {
    char checkout_id [CK_ID_SIZE];
    char saga_id [CK_ID_SIZE];
    ck_saga_state_t status;
    ck_service_t step;                  //  optional: step in progress or undone
    ck_type_t type;                     //  optional: its current request
    uint32_t attempt;                   //  optional: that request's attempt
    uint64_t accepted_ms;               //  wall clock
    uint64_t elapsed_us;                //  optional: once ended
} ck_saga_summary_t;

//  SAGAS, the answer to LIST
typedef struct {
    ck_saga_summary_t sagas [CK_MAX_LIST];
    uint32_t saga_count;
    char next [CK_ID_SIZE];             //  optional: more may follow; LIST's cursor
} ck_sagas_t;

//  DESCRIBE, RETRY and CANCEL name a saga by its checkout_id; RETRY and
//  CANCEL say who asked (not authenticated: see docs/operations.md)
typedef struct {
    char checkout_id [CK_ID_SIZE];
    char by [CK_BY_SIZE];               //  RETRY, CANCEL: 1..64 bytes of text
    char reason [CK_TEXT_SIZE];         //  CANCEL, optional: at most 160 bytes
} ck_operator_t;

//  One row of the saga's table, as DESCRIPTION shows it
typedef struct {
    ck_service_t step;
    ck_type_t action;
    ck_type_t compensation;             //  optional
    char kind [CK_NAME_SIZE];           //  compensatable, pivot, retriable
    char state [CK_NAME_SIZE];          //  pending, running, done, failed,
                                        //  compensating, compensated
    char result_id [CK_ID_SIZE];        //  optional
} ck_step_view_t;

//  DESCRIPTION, the answer to DESCRIBE: the whole saga
typedef struct {
    char checkout_id [CK_ID_SIZE];
    char saga_id [CK_ID_SIZE];
    ck_saga_state_t status;
    char phase [CK_NAME_SIZE];          //  running, compensating, confirmed, failed
    char cart_id [CK_ID_SIZE];
    char customer_id [CK_ID_SIZE];
    char currency [4];
    ck_item_t items [CK_MAX_ITEMS];
    uint32_t item_count;
    uint64_t amount;
    char payment_method [CK_ID_SIZE];
    ck_ship_to_t ship_to;
    ck_step_view_t steps [CK_MAX_STEPS];
    uint32_t step_count;
    ck_type_t type;                     //  optional: the current request
    uint32_t attempt;                   //  optional: its attempt number
    uint32_t counted;                   //  optional: its attempts that count
    ck_service_t failed_step;           //  optional
    ck_reason_t reason;                 //  optional
    uint64_t accepted_ms;
    uint64_t elapsed_us;                //  optional: once ended
    ck_history_entry_t history [CK_MAX_HISTORY];
    uint32_t history_count;
    uint64_t history_total;             //  entries the saga ever had
} ck_description_t;

//  -------------------------------------------------------------------------
//  Participant protocol (docs/protocol.md#worker)

typedef struct {
    ck_service_t service;
    char instance [CK_ID_SIZE];
    uint32_t capacity;                  //  1..1024
    bool update;                        //  optional: a new share, same connection
} ck_ready_t;

//  One struct for every request type; which fields are present depends on
//  type (see docs/protocol.md#types).  ReserveInventory items carry no unit_price.
typedef struct {
    char saga_id [CK_ID_SIZE];
    char checkout_id [CK_ID_SIZE];
    ck_type_t type;
    uint32_t attempt;                   //  1..
    uint32_t deadline_ms;               //  relative to receipt
    ck_item_t items [CK_MAX_ITEMS];
    uint32_t item_count;
    char cart_id [CK_ID_SIZE];
    char customer_id [CK_ID_SIZE];
    uint64_t amount;
    char currency [4];
    char payment_method [CK_ID_SIZE];
    ck_ship_to_t ship_to;
    char reservation_id [CK_ID_SIZE];
    char authorization_id [CK_ID_SIZE];
} ck_request_t;

//  An ok reply to a forward type carries one result id, under the key its
//  type names (ck_type_result_key: reservation_id for ReserveInventory,
//  authorization_id for AuthorizePayment, order_id for CreateOrder);
//  compensations carry none.
typedef struct {
    char saga_id [CK_ID_SIZE];
    ck_type_t type;
    uint32_t attempt;
    ck_outcome_t outcome;               //  ok, rejected or error
    ck_reason_t reason;                 //  required when rejected
    char result_id [CK_ID_SIZE];        //  required when ok, if type has one
} ck_reply_t;

//  -------------------------------------------------------------------------
//  Events (docs/protocol.md#events); the topic travels in its own frame

typedef enum {
    CK_EVENT_NONE = 0,
    CK_EVENT_SAGA_STARTED,              //  saga.started
    CK_EVENT_SAGA_STEP,                 //  saga.step
    CK_EVENT_SAGA_COMPENSATING,         //  saga.compensating
    CK_EVENT_SAGA_CONFIRMED,            //  saga.confirmed
    CK_EVENT_SAGA_FAILED,               //  saga.failed
    CK_EVENT_SAGA_STUCK,                //  saga.stuck
    CK_EVENT_WORKER_JOINED,             //  worker.joined
    CK_EVENT_WORKER_LOST,               //  worker.lost
    CK_EVENT_SOCKET,                    //  socket.<event>
    CK_EVENT_STATS,                     //  stats
    CK_EVENT_SAGA_RETRIED,              //  saga.retried (an operator's RETRY)
    CK_EVENT_SAGA_CANCELLED,            //  saga.cancelled (an operator's CANCEL)
    CK_EVENT_SECURITY_REFUSED,          //  security.refused
    CK_EVENT_COUNT
} ck_event_kind_t;

//  The topic of an event kind; for CK_EVENT_SOCKET the prefix "socket."
const char *ck_event_topic (ck_event_kind_t kind);

//  The event kind of a topic frame; NONE when unknown
ck_event_kind_t ck_event_lookup (const char *topic, size_t len);

typedef struct {
    char saga_id [CK_ID_SIZE];
    char checkout_id [CK_ID_SIZE];
} ck_ev_started_t;

typedef struct {
    char saga_id [CK_ID_SIZE];
    ck_service_t step;
    ck_type_t type;
    uint32_t attempt;
    ck_outcome_t outcome;
    ck_reason_t reason;                 //  optional
} ck_ev_step_t;

typedef struct {
    char saga_id [CK_ID_SIZE];
    ck_service_t steps [CK_MAX_STEPS];  //  in the order they will be undone
    uint32_t step_count;
} ck_ev_compensating_t;

//  saga.confirmed, saga.failed and saga.stuck
typedef struct {
    char saga_id [CK_ID_SIZE];
    char checkout_id [CK_ID_SIZE];
    char order_id [CK_ID_SIZE];         //  optional
    ck_reason_t reason;                 //  optional
    uint64_t elapsed_us;
} ck_ev_outcome_t;

//  saga.retried and saga.cancelled: an operator's command, once durable
typedef struct {
    char saga_id [CK_ID_SIZE];
    char checkout_id [CK_ID_SIZE];
    char by [CK_BY_SIZE];
    char reason [CK_TEXT_SIZE];         //  optional (cancel)
} ck_ev_operator_t;

//  worker.joined and worker.lost
typedef struct {
    ck_service_t service;
    char instance [CK_ID_SIZE];
    uint32_t capacity;                  //  optional
} ck_ev_worker_t;

typedef struct {
    char socket [CK_NAME_SIZE];         //  frontend, backend, events
    char endpoint [CK_TEXT_SIZE];
    char event [CK_NAME_SIZE];          //  zmonitor's name, e.g. ACCEPTED
} ck_ev_socket_t;

//  security.refused: a peer tried what its key does not allow
typedef struct {
    char key [CK_NAME_SIZE + 8];        //  its CURVE public key, Z85 (40)
    char socket [CK_NAME_SIZE];         //  frontend, backend, events
    char command [CK_NAME_SIZE];        //  what it sent: READY, CHECKOUT, ...
    char role [CK_NAME_SIZE];           //  the role that needs
    char instance [CK_ID_SIZE];         //  optional: READY's instance
    char reason [CK_TEXT_SIZE];
} ck_ev_security_t;

typedef struct {
    ck_service_t service;
    char instance [CK_ID_SIZE];
    uint32_t capacity;
    uint32_t load;                      //  requests in flight at it
} ck_worker_load_t;

//  Failed sagas with one reason code, since the process started
typedef struct {
    char code [CK_ID_SIZE];
    uint64_t count;
} ck_reason_count_t;

//  Sagas ended within le_us, since the process started (cumulative)
typedef struct {
    uint64_t le_us;
    uint64_t count;
} ck_latency_bucket_t;

typedef struct {
    uint64_t uptime_ms;
    //  counters since the process started
    uint64_t started;
    uint64_t confirmed;
    uint64_t failed;
    uint64_t stuck;
    uint64_t bad_messages;
    uint64_t retries;
    uint64_t ignored_replies;
    uint64_t overloaded;
    uint64_t dropped;                   //  optional: replies dropped (client's queue full)
    uint64_t refused;                   //  optional: connections refused past the limit
    uint64_t in_flight;
    //  latency of the sagas ended in the last interval, µs
    uint64_t latency_count;
    uint64_t p50_us;
    uint64_t p90_us;
    uint64_t p99_us;
    uint64_t max_us;
    ck_worker_load_t workers [CK_MAX_WORKERS];
    uint32_t worker_count;
    //  optional: totals since the process started, which add up across
    //  coordinators and intervals (Prometheus' counters and histogram)
    ck_reason_count_t failed_reasons [CK_MAX_FAILED_REASONS];
    uint32_t failed_reason_count;
    uint64_t ended;                     //  sagas confirmed or failed
    uint64_t ended_us;                  //  the sum of their elapsed_us
    ck_latency_bucket_t latency_buckets [CK_LATENCY_BUCKETS];
    uint32_t latency_bucket_count;
    //  optional, with several coordinators (PostgreSQL): who publishes, how
    //  many partitions there are and which this one owns, as ranges "0-20,42"
    char coordinator [CK_ID_SIZE];
    uint32_t partition_count;
    char partitions [CK_TEXT_SIZE];
} ck_ev_stats_t;

#ifdef __cplusplus
}
#endif

#endif
