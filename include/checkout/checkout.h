/*  checkout.h - the Checkout Orchestrator SDK, all of it
    The client library and the participant runtime, with the protocol's
    vocabularies, its codec and CURVE set-up, from libcheckout.

    Build against it with pkg-config (`pkg-config --cflags --libs checkout`)
    or CMake (`find_package (checkout)`, target checkout::checkout).  Every
    name it declares starts with ck_ or CK_.  docs/sdk.md has the examples.
*/
#ifndef CK_CHECKOUT_H_INCLUDED
#define CK_CHECKOUT_H_INCLUDED

#include "version.h"
#include "protocol.h"
#include "codec.h"
#include "config.h"
#include "curve.h"
#include "client.h"
#include "participant.h"

#endif
