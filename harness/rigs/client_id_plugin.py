"""A Mosquitto 2.x auth plugin that ties MQTT client ids to client certificates, built with
the system's C compiler the first time a broker needs it.

Why a plugin: a Greengrass V2 core admits a client device only when its client id is the
thing name of its certificate (``greengrass-v2-topology.md`` §1.3.1), so one device cannot
take another's client id and knock it off. Mosquitto has no such setting:
``use_username_as_clientid`` silently replaces the id instead of refusing it, and with
``use_identity_as_username`` Mosquitto skips every plugin's password check, the only hook at
CONNECT. So the broker runs without ``use_identity_as_username`` and this plugin does that
part too: it reads the certificate's CN, refuses a client id that is not allowed (the broker
then answers CONNACK "not authorized": 5 over MQTT 3.1.1, 135 over MQTT 5) and otherwise
makes the CN the client's user name, which the ACL file's ``user`` blocks match. The check
runs before Mosquitto looks for an existing connection with that id, so a refused client
never disconnects the legitimate one.

The rule, for a certificate whose CN is thing ``T``:

- a **thing certificate** (what a device, the device program or AWS's SDKs use): the client
  id must be exactly ``T``;
- a **helper certificate** (organizational unit :data:`HELPER_UNIT`, issued only to the
  harness's own clients: the core's bridge, clients that inject messages while the device
  program runs): the client id may be ``T``, or ``T`` followed by ``-`` or ``@`` and more
  that is no other thing's name and does not belong to a longer thing name
  (``weather-station-core-bridge-1`` belongs to ``weather-station-core``, not to
  ``weather-station``). The harness's helpers use the second form, so they run alongside the
  device program; with ``T`` itself a helper replaces ``T``'s connection, as a second
  connection of the same thing does on a V2 core.

Thing names come from the plugin option ``things`` (space-separated). The plugin declares
the few Mosquitto and OpenSSL functions it calls itself, so no development headers are
needed; the broker process provides both at load time. Built plugins are cached by the hash
of their source in the user's temporary directory.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["HELPER_UNIT", "NO_COMPILER", "build_plugin"]

#: The organizational unit (OU) that marks a helper certificate.
HELPER_UNIT = "gg-edge-harness helper"

NO_COMPILER = (
    "the broker rig builds a small Mosquitto plugin and needs a C compiler for it:"
    " apt-get install gcc (or set CC)"
)

_SOURCE = r"""
/* Ties MQTT client ids to client certificates: see harness/rigs/client_id_plugin.py. */
#include <stddef.h>
#include <string.h>

struct mosquitto;
struct mosquitto_opt { char *key; char *value; };
struct mosquitto_evt_basic_auth {
    void *future; struct mosquitto *client; char *username; char *password; void *future2[4];
};
typedef struct mosquitto_plugin_id_t mosquitto_plugin_id_t;
typedef int (*callback_t)(int event, void *event_data, void *userdata);

int mosquitto_callback_register(mosquitto_plugin_id_t *, int, callback_t, const void *, void *);
int mosquitto_callback_unregister(mosquitto_plugin_id_t *, int, callback_t, const void *);
const char *mosquitto_client_id(const struct mosquitto *);
void *mosquitto_client_certificate(const struct mosquitto *);
int mosquitto_set_username(struct mosquitto *, const char *);
void mosquitto_log_printf(int level, const char *fmt, ...);

void *X509_get_subject_name(const void *);
int X509_NAME_get_text_by_NID(void *, int, char *, int);
void X509_free(void *);

#define EVT_BASIC_AUTH 3
#define ERR_SUCCESS 0
#define ERR_AUTH 11
#define LOG_NOTICE 2
#define NID_COMMON_NAME 13
#define NID_UNIT 18
#define NAME_MAX_LENGTH 128
#define THINGS_MAX 65536

static mosquitto_plugin_id_t *plugin_id;
static char things[THINGS_MAX]; /* " a b c ": each thing name between spaces */
static char helper_unit[256];

static int is_thing(const char *name, size_t length)
{
    const char *at = things;
    while ((at = strchr(at, ' ')) != NULL && at[1] != '\0') {
        const char *end = strchr(at + 1, ' ');
        if (end == NULL) break;
        if ((size_t)(end - at - 1) == length && strncmp(at + 1, name, length) == 0) return 1;
        at = end;
    }
    return 0;
}

/* The thing a helper's client id belongs to: the longest thing name followed by - or @. */
static size_t owner_length(const char *client_id)
{
    size_t best = 0, length = strlen(client_id), cut;
    for (cut = 1; cut + 1 < length; cut++) { /* something must follow the separator */
        if ((client_id[cut] == '-' || client_id[cut] == '@') && is_thing(client_id, cut)) {
            best = cut;
        }
    }
    return best;
}

static int text(void *name, int nid, char *buffer, int size)
{
    int length = X509_NAME_get_text_by_NID(name, nid, buffer, size);
    if (length < 0 || length >= size || (int)strlen(buffer) != length) return -1;
    return length;
}

static int refuse(const char *client_id, const char *thing, const char *why)
{
    mosquitto_log_printf(LOG_NOTICE,
        "client-id-plugin: client id '%s' refused for the certificate of thing '%s': %s"
        " (Greengrass: \"Can't create auth session. Check that the thing connects using its"
        " thing name as the client ID and has a valid AWS IoT client certificate.\")",
        client_id, thing, why);
    return ERR_AUTH;
}

static int on_basic_auth(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_basic_auth *auth = event_data;
    const char *client_id = mosquitto_client_id(auth->client);
    char thing[NAME_MAX_LENGTH + 2], unit[256];
    int helper = 0, length;
    void *certificate, *name;
    (void)event; (void)userdata;

    if (client_id == NULL) client_id = "";
    certificate = mosquitto_client_certificate(auth->client);
    if (certificate == NULL) return refuse(client_id, "?", "no client certificate");
    name = X509_get_subject_name(certificate);
    length = text(name, NID_COMMON_NAME, thing, sizeof thing);
    if (length > 0 && length <= NAME_MAX_LENGTH && text(name, NID_UNIT, unit, sizeof unit) > 0) {
        helper = strcmp(unit, helper_unit) == 0;
    }
    X509_free(certificate);
    if (length <= 0 || length > NAME_MAX_LENGTH) {
        return refuse(client_id, "?", "the certificate has no thing name as its CN");
    }
    if (!helper) {
        if (strcmp(client_id, thing) != 0) {
            return refuse(client_id, thing, "the client id must be the thing name");
        }
    } else if (strcmp(client_id, thing) == 0) {
        /* its own thing name, as the thing itself may */
    } else if (is_thing(client_id, strlen(client_id))) {
        return refuse(client_id, thing, "that is another thing's client id");
    } else if (owner_length(client_id) != (size_t)length
               || strncmp(client_id, thing, (size_t)length) != 0) {
        return refuse(client_id, thing,
                      "a helper's client id is its thing name, then '-' or '@' and more");
    }
    return mosquitto_set_username(auth->client, thing) == ERR_SUCCESS ? ERR_SUCCESS : ERR_AUTH;
}

int mosquitto_plugin_version(int count, const int *versions)
{
    int i;
    for (i = 0; i < count; i++) {
        if (versions[i] == 5) return 5;
    }
    return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
                          struct mosquitto_opt *options, int count)
{
    int i;
    (void)userdata;
    plugin_id = identifier;
    strcpy(things, " ");
    for (i = 0; i < count; i++) {
        if (strcmp(options[i].key, "things") == 0) {
            if (strlen(options[i].value) + 3 > sizeof things) return 1;
            strcat(things, options[i].value);
            strcat(things, " ");
        } else if (strcmp(options[i].key, "helper_unit") == 0) {
            if (strlen(options[i].value) + 1 > sizeof helper_unit) return 1;
            strcpy(helper_unit, options[i].value);
        }
    }
    if (helper_unit[0] == '\0') return 1;
    return mosquitto_callback_register(identifier, EVT_BASIC_AUTH, on_basic_auth, NULL, NULL);
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int count)
{
    (void)userdata; (void)options; (void)count;
    return mosquitto_callback_unregister(plugin_id, EVT_BASIC_AUTH, on_basic_auth, NULL);
}
"""


def _compiler() -> str:
    for candidate in (os.environ.get("CC"), "cc", "gcc"):
        if candidate and shutil.which(candidate):
            return candidate
    raise FileNotFoundError(NO_COMPILER)


def build_plugin(cache: Path | None = None) -> Path:
    """The plugin's shared object, compiled once per source version into ``cache`` (default:
    ``<temp dir>/gg-edge-harness-<uid>``). FileNotFoundError without a C compiler;
    RuntimeError with the compiler's output when it fails."""
    digest = hashlib.sha256(_SOURCE.encode()).hexdigest()[:16]
    cache = cache or Path(tempfile.gettempdir()) / f"gg-edge-harness-{os.getuid()}"
    target = cache / f"client-id-plugin-{digest}.so"
    if target.exists():
        return target
    compiler = _compiler()
    cache.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as work:
        source = Path(work) / "client_id_plugin.c"
        source.write_text(_SOURCE, encoding="ascii")
        built = Path(work) / target.name
        result = subprocess.run(
            [compiler, "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", str(built),
             str(source)],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{compiler} could not build the broker rig's client id plugin:\n"
                f"{result.stdout}{result.stderr}"
            )
        os.replace(built, target)  # atomic: concurrent builders each install a whole file
    return target
