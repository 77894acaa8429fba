"""A Mosquitto 2.x plugin that makes the broker admit and authorize client devices as a
Greengrass V2 core does, built with the system's C compiler the first time a broker needs it.

It does two things that Mosquitto's own settings cannot.

**Client ids tied to certificates.** A Greengrass V2 core admits a client device only when
its client id is the thing name of its certificate (``greengrass-v2-topology.md`` §1.3.1),
so one device cannot take another's client id and knock it off. Mosquitto has no such
setting: ``use_username_as_clientid`` silently replaces the id instead of refusing it, and
with ``use_identity_as_username`` Mosquitto skips every plugin's password check, the only
hook at CONNECT. So the broker runs without ``use_identity_as_username`` and this plugin
does that part too: it reads the certificate's CN, refuses a client id that is not allowed
(the broker then answers CONNACK "not authorized": 5 over MQTT 3.1.1, 135 over MQTT 5) and
otherwise makes the CN the client's user name. The check runs before Mosquitto looks for an
existing connection with that id, so a refused client never disconnects the legitimate one.

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

**Client device auth.** Every decision CDA makes (§1.3.1 steps 3, 6 and 7) is made from a
rules file that :mod:`harness.rigs.client_device_rules` writes from the CDA model; the plugin
only matches (its rules are documented there):

- CONNECT: after the client id check, the certificate thing's ``mqtt:connect`` decision;
  a refusal logs ``client-device-auth: Device isn't authorized to connect ...`` and is
  answered like any plugin refusal (CONNACK 5 / 135; CDA answers 4);
- PUBLISH (Mosquitto's ``MOSQ_ACL_WRITE`` check): ``mqtt:topic:<topic>`` against the
  thing's publish resources; a denial logs Moquette's line for the QoS
  (``client-device-auth: MQTT client: <id> is not authorized to publish on topic: <t>`` at
  QoS 1) besides Mosquitto's own ``Denied PUBLISH from <id>``;
- SUBSCRIBE (``MOSQ_ACL_SUBSCRIBE``, once per filter): ``mqtt:topicfilter:<filter>`` against
  the thing's subscribe resources; a denial logs ``client-device-auth: Client does not have
  read permissions on the topic username: <thing>, topic: <filter>`` (Moquette's line also
  names the packet's message id, which a plugin is not told);
- deliveries (``MOSQ_ACL_READ``) and unsubscribes are allowed: CDA does not check them.

The identity is the certificate's thing (the user name set at CONNECT), so a helper
certificate is held to its thing's policy; the core's thing is allowed everything. The file
is read at start and again whenever it changed (checked at each CONNECT, PUBLISH and
SUBSCRIBE), so a new configuration applies to the next request without a reconnect, as on
the core (§1.3.1 step 8). Mosquitto must run without ``acl_file``: its default check would
decide before the plugin.

Options: ``things`` (space-separated thing names, for the client id rule), ``helper_unit``
and ``rules`` (the rules file). The plugin declares the few Mosquitto and OpenSSL functions
it calls itself, so no development headers are needed; the broker process provides both at
load time. Built plugins are cached by the hash of their source in the user's temporary
directory.
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
/* Client ids tied to certificates, and client device auth from a rules file: see
   harness/rigs/client_id_plugin.py and harness/rigs/client_device_rules.py. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct mosquitto;
struct mosquitto_opt { char *key; char *value; };
struct mosquitto_evt_basic_auth {
    void *future; struct mosquitto *client; char *username; char *password; void *future2[4];
};
struct mosquitto_evt_acl_check { /* Mosquitto 2.0's layout */
    void *future; struct mosquitto *client; const char *topic; const void *payload;
    void *properties; int access; uint32_t payloadlen; uint8_t qos; bool retain;
    void *future2[4];
};
typedef struct mosquitto_plugin_id_t mosquitto_plugin_id_t;
typedef int (*callback_t)(int event, void *event_data, void *userdata);

int mosquitto_callback_register(mosquitto_plugin_id_t *, int, callback_t, const void *, void *);
int mosquitto_callback_unregister(mosquitto_plugin_id_t *, int, callback_t, const void *);
const char *mosquitto_client_id(const struct mosquitto *);
const char *mosquitto_client_username(const struct mosquitto *);
void *mosquitto_client_certificate(const struct mosquitto *);
int mosquitto_set_username(struct mosquitto *, const char *);
void mosquitto_log_printf(int level, const char *fmt, ...);

void *X509_get_subject_name(const void *);
int X509_NAME_get_text_by_NID(void *, int, char *, int);
void X509_free(void *);

#define EVT_ACL_CHECK 2
#define EVT_BASIC_AUTH 3
#define ERR_SUCCESS 0
#define ERR_AUTH 11
#define ERR_ACL_DENIED 12
#define ACL_WRITE 0x02
#define ACL_SUBSCRIBE 0x04
#define LOG_NOTICE 2
#define LOG_WARNING 4
#define NID_COMMON_NAME 13
#define NID_UNIT 18
#define NAME_MAX_LENGTH 128
#define THINGS_MAX 65536
#define CDA "client-device-auth: "

static mosquitto_plugin_id_t *plugin_id;
static char things[THINGS_MAX]; /* " a b c ": each thing name between spaces */
static char helper_unit[256];

/* ------------------------------------------------------------------ the rules */

struct pattern { int subscribe; int glob; char *text; };
struct thing { char *name; int connect; int everything; };
struct rules {
    unsigned long (*ranges)[2]; size_t range_count, range_capacity;
    struct thing *things; size_t thing_count, thing_capacity;
    struct pattern *patterns; size_t pattern_count, pattern_capacity;
    size_t *owner; size_t owner_capacity; /* the thing of each pattern */
};

static struct rules current;
static char rules_path[4096];
static struct stat rules_seen;
static int rules_loaded;

static int grow(void **array, size_t *capacity, size_t count, size_t size)
{
    size_t wanted;
    void *bigger;
    if (count < *capacity) return 0;
    wanted = *capacity ? *capacity * 2 : 16;
    bigger = realloc(*array, wanted * size);
    if (bigger == NULL) return -1;
    *array = bigger;
    *capacity = wanted;
    return 0;
}

static void free_rules(struct rules *rules)
{
    size_t i;
    for (i = 0; i < rules->thing_count; i++) free(rules->things[i].name);
    for (i = 0; i < rules->pattern_count; i++) free(rules->patterns[i].text);
    free(rules->things);
    free(rules->patterns);
    free(rules->owner);
    free(rules->ranges);
    memset(rules, 0, sizeof *rules);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* A %XX-decoded copy of text; NULL when malformed (or %00) or out of memory. */
static char *unescape(const char *text)
{
    size_t length = strlen(text), i, j = 0;
    char *out = malloc(length + 1);
    if (out == NULL) return NULL;
    for (i = 0; i < length; i++) {
        if (text[i] != '%') {
            out[j++] = text[i];
            continue;
        }
        if (i + 2 >= length || hex_digit(text[i + 1]) < 0 || hex_digit(text[i + 2]) < 0
            || (text[i + 1] == '0' && text[i + 2] == '0')) {
            free(out);
            return NULL;
        }
        out[j++] = (char)(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
        i += 2;
    }
    out[j] = '\0';
    return out;
}

static int parse_ranges(struct rules *rules, char *rest)
{
    char *word, *dash, *end;
    unsigned long first, last;
    while ((word = strsep(&rest, " ")) != NULL) {
        if (*word == '\0') continue;
        dash = strchr(word, '-');
        if (dash == NULL) return -1;
        *dash = '\0';
        first = strtoul(word, &end, 16);
        if (end == word || *end != '\0') return -1;
        last = strtoul(dash + 1, &end, 16);
        if (end == dash + 1 || *end != '\0' || last < first) return -1;
        if (rules->range_count && rules->ranges[rules->range_count - 1][1] >= first) return -1;
        if (grow((void **)&rules->ranges, &rules->range_capacity, rules->range_count,
                 sizeof *rules->ranges)) return -1;
        rules->ranges[rules->range_count][0] = first;
        rules->ranges[rules->range_count][1] = last;
        rules->range_count++;
    }
    return 0;
}

/* One line: "chars ...", "thing <name> <0|1> <0|1>", "publish|subscribe exact|glob <r>". */
static int parse_line(struct rules *rules, char *line)
{
    char *words[5], *rest = line;
    int count = 0;
    if (line[0] == '\0' || line[0] == '#') return 0;
    if (strncmp(line, "chars ", 6) == 0) return parse_ranges(rules, line + 6);
    while (count < 5 && rest != NULL) words[count++] = strsep(&rest, " ");
    if (count == 4 && strcmp(words[0], "thing") == 0) {
        struct thing *thing;
        if (grow((void **)&rules->things, &rules->thing_capacity, rules->thing_count,
                 sizeof *rules->things)) return -1;
        thing = &rules->things[rules->thing_count];
        thing->name = strdup(words[1]);
        if (thing->name == NULL) return -1;
        thing->connect = strcmp(words[2], "1") == 0;
        thing->everything = strcmp(words[3], "1") == 0;
        rules->thing_count++;
        return 0;
    }
    if (count == 3 && rules->thing_count > 0
        && (strcmp(words[0], "publish") == 0 || strcmp(words[0], "subscribe") == 0)
        && (strcmp(words[1], "exact") == 0 || strcmp(words[1], "glob") == 0)) {
        struct pattern *pattern;
        size_t owner_count = rules->pattern_count;
        if (grow((void **)&rules->patterns, &rules->pattern_capacity, rules->pattern_count,
                 sizeof *rules->patterns)) return -1;
        if (grow((void **)&rules->owner, &rules->owner_capacity, owner_count,
                 sizeof *rules->owner)) return -1;
        pattern = &rules->patterns[rules->pattern_count];
        pattern->subscribe = words[0][0] == 's';
        pattern->glob = words[1][0] == 'g';
        pattern->text = unescape(words[2]);
        if (pattern->text == NULL) return -1;
        rules->owner[rules->pattern_count] = rules->thing_count - 1;
        rules->pattern_count++;
        return 0;
    }
    return -1;
}

static int load_rules(const char *path, struct rules *rules)
{
    FILE *file = fopen(path, "rb");
    char *text = NULL, *line, *rest;
    size_t size = 0, capacity = 0, got;
    int failed = 0;
    memset(rules, 0, sizeof *rules);
    if (file == NULL) return -1;
    for (;;) {
        if (grow((void **)&text, &capacity, size + 1, 1)) { failed = 1; break; }
        got = fread(text + size, 1, capacity - size - 1, file);
        size += got;
        if (got == 0) break;
    }
    if (ferror(file)) failed = 1;
    fclose(file);
    if (failed || text == NULL) { free(text); return -1; }
    text[size] = '\0';
    if (size == 0 || text[size - 1] != '\n' || strlen(text) != size) failed = 1;
    rest = text;
    while (!failed && (line = strsep(&rest, "\n")) != NULL) {
        if (parse_line(rules, line) != 0) failed = 1;
    }
    free(text);
    if (failed || rules->range_count == 0) { free_rules(rules); return -1; }
    return 0;
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size
        && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec
        && a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Read the rules again when the file changed; a file that cannot be read keeps the old. */
static void refresh(void)
{
    struct stat now;
    struct rules fresh;
    if (stat(rules_path, &now) != 0) return;
    if (rules_loaded && same_file(&now, &rules_seen)) return;
    if (load_rules(rules_path, &fresh) != 0) {
        mosquitto_log_printf(LOG_WARNING, CDA "cannot read the rules in %s; keeping the %s",
                             rules_path, rules_loaded ? "previous ones" : "none (deny all)");
        return;
    }
    free_rules(&current);
    current = fresh;
    rules_seen = now;
    rules_loaded = 1;
    mosquitto_log_printf(LOG_NOTICE, CDA "rules read from %s (%lu things, %lu resources)",
                         rules_path, (unsigned long)current.thing_count,
                         (unsigned long)current.pattern_count);
}

static const struct thing *find_thing(const char *name, size_t *index)
{
    size_t i;
    if (name == NULL) return NULL;
    for (i = 0; i < current.thing_count; i++) {
        if (strcmp(current.things[i].name, name) == 0) {
            *index = i;
            return &current.things[i];
        }
    }
    return NULL;
}

/* '*' is any run of characters (none included); everything else is literal. */
static int glob_match(const char *pattern, const char *text)
{
    const char *star = NULL, *resume = NULL;
    while (*text) {
        if (*pattern == '*') {
            star = pattern++;
            resume = text;
        } else if (*pattern != '\0' && *pattern == *text) {
            pattern++;
            text++;
        } else if (star != NULL) {
            pattern = star + 1;
            text = ++resume;
        } else {
            return 0;
        }
    }
    while (*pattern == '*') pattern++;
    return *pattern == '\0';
}

static int allowed_point(unsigned long point)
{
    size_t low = 0, high = current.range_count;
    while (low < high) {
        size_t middle = (low + high) / 2;
        if (point < current.ranges[middle][0]) high = middle;
        else if (point > current.ranges[middle][1]) low = middle + 1;
        else return 1;
    }
    return 0;
}

/* CDA's syntax check of a resource name: not empty, every character allowed. */
static int valid_name(const char *name)
{
    const unsigned char *at = (const unsigned char *)name;
    if (*at == '\0') return 0;
    while (*at) {
        unsigned long point;
        int extra;
        if (*at < 0x80) { point = *at; extra = 0; }
        else if ((*at & 0xE0) == 0xC0) { point = *at & 0x1F; extra = 1; }
        else if ((*at & 0xF0) == 0xE0) { point = *at & 0x0F; extra = 2; }
        else if ((*at & 0xF8) == 0xF0) { point = *at & 0x07; extra = 3; }
        else return 0;
        at++;
        while (extra-- > 0) {
            if ((*at & 0xC0) != 0x80) return 0;
            point = (point << 6) | (*at & 0x3F);
            at++;
        }
        if (!allowed_point(point)) return 0;
    }
    return 1;
}

static int matches(size_t thing, int subscribe, const char *resource)
{
    size_t i;
    for (i = 0; i < current.pattern_count; i++) {
        const struct pattern *pattern = &current.patterns[i];
        if (current.owner[i] != thing || pattern->subscribe != subscribe) continue;
        if (pattern->glob ? glob_match(pattern->text, resource)
                          : strcmp(pattern->text, resource) == 0) return 1;
    }
    return 0;
}

static int on_acl_check(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_acl_check *check = event_data;
    const char *name, *prefix, *client_id;
    const struct thing *thing;
    size_t index = 0, length;
    char *resource;
    int subscribe, allowed = 0;
    (void)event; (void)userdata;

    if (check->access == ACL_WRITE) subscribe = 0;
    else if (check->access == ACL_SUBSCRIBE) subscribe = 1;
    else return ERR_SUCCESS; /* deliveries and unsubscribes: CDA does not check them */
    refresh();
    name = mosquitto_client_username(check->client);
    thing = find_thing(name, &index);
    if (thing != NULL && thing->everything) return ERR_SUCCESS;
    if (thing != NULL && valid_name(check->topic)) {
        prefix = subscribe ? "mqtt:topicfilter:" : "mqtt:topic:";
        length = strlen(prefix) + strlen(check->topic) + 1;
        resource = malloc(length);
        if (resource == NULL) return ERR_ACL_DENIED;
        snprintf(resource, length, "%s%s", prefix, check->topic);
        allowed = matches(index, subscribe, resource);
        free(resource);
    }
    if (allowed) return ERR_SUCCESS;
    client_id = mosquitto_client_id(check->client);
    if (client_id == NULL) client_id = "";
    if (subscribe) {
        mosquitto_log_printf(LOG_NOTICE, CDA "Client does not have read permissions on the"
                             " topic username: %s, topic: %s", name ? name : "", check->topic);
    } else if (check->qos == 0) {
        mosquitto_log_printf(LOG_NOTICE, CDA "client is not authorized to publish on topic: %s",
                             check->topic);
    } else if (check->qos == 1) {
        mosquitto_log_printf(LOG_NOTICE, CDA "MQTT client: %s is not authorized to publish on"
                             " topic: %s", client_id, check->topic);
    } else {
        mosquitto_log_printf(LOG_NOTICE, CDA "MQTT client is not authorized to publish on"
                             " topic: %s", check->topic);
    }
    return ERR_ACL_DENIED;
}

/* ------------------------------------------------------------------ client ids */

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
    const struct thing *rules;
    char thing[NAME_MAX_LENGTH + 2], unit[256];
    int helper = 0, length;
    size_t index = 0;
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
    refresh();
    rules = find_thing(thing, &index);
    if (rules == NULL || !(rules->connect || rules->everything)) {
        mosquitto_log_printf(LOG_NOTICE, CDA "Device isn't authorized to connect (thing '%s',"
                             " client id '%s': mqtt:connect denied)", thing, client_id);
        return ERR_AUTH;
    }
    return mosquitto_set_username(auth->client, thing) == ERR_SUCCESS ? ERR_SUCCESS : ERR_AUTH;
}

/* ------------------------------------------------------------------ the plugin */

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
        } else if (strcmp(options[i].key, "rules") == 0) {
            if (strlen(options[i].value) + 1 > sizeof rules_path) return 1;
            strcpy(rules_path, options[i].value);
        }
    }
    if (helper_unit[0] == '\0' || rules_path[0] == '\0') return 1;
    refresh();
    if (!rules_loaded) return 1;
    if (mosquitto_callback_register(identifier, EVT_BASIC_AUTH, on_basic_auth, NULL, NULL)) {
        return 1;
    }
    return mosquitto_callback_register(identifier, EVT_ACL_CHECK, on_acl_check, NULL, NULL);
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int count)
{
    (void)userdata; (void)options; (void)count;
    mosquitto_callback_unregister(plugin_id, EVT_ACL_CHECK, on_acl_check, NULL);
    mosquitto_callback_unregister(plugin_id, EVT_BASIC_AUTH, on_basic_auth, NULL);
    free_rules(&current);
    rules_loaded = 0;
    return ERR_SUCCESS;
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
