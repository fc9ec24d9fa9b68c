/* gupnp-igd.c: a libgupnp-igd-1.0.so.4 that maps no port, for tests.
 *
 * Debian 12's simple-whip-client links libsoup 2, and libnice links
 * libgupnp-igd, whose libgupnp links libsoup 3: the two in one process
 * abort whip-client before it sends anything. Loaded in front of the real
 * one (LD_LIBRARY_PATH, for whip-client alone), this library gives libnice
 * the four calls it makes and no libsoup at all. UPnP has nothing to map on
 * loopback; libnice stops waiting for a mapping after its own timeout. */
#include <glib-object.h>

typedef struct { GObject parent; } GUPnPSimpleIgd;
typedef struct { GObjectClass parent; } GUPnPSimpleIgdClass;

GType gupnp_simple_igd_get_type(void);
GUPnPSimpleIgd *gupnp_simple_igd_thread_new(void);
void gupnp_simple_igd_add_port(GUPnPSimpleIgd *self, const gchar *protocol,
                               guint external_port, const gchar *local_ip,
                               guint16 local_port, guint32 lease_duration,
                               const gchar *description);
void gupnp_simple_igd_remove_port_local(GUPnPSimpleIgd *self,
                                        const gchar *protocol,
                                        const gchar *local_ip,
                                        guint16 local_port);

G_DEFINE_TYPE(GUPnPSimpleIgd, gupnp_simple_igd, G_TYPE_OBJECT)

/* libnice connects to these two; they are never emitted here. */
static void gupnp_simple_igd_class_init(GUPnPSimpleIgdClass *klass)
{
    GType type = G_TYPE_FROM_CLASS(klass);

    g_signal_new("mapped-external-port", type, G_SIGNAL_RUN_LAST, 0,
                 NULL, NULL, NULL, G_TYPE_NONE, 0);
    g_signal_new("error-mapping-port", type, G_SIGNAL_RUN_LAST, 0,
                 NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void gupnp_simple_igd_init(GUPnPSimpleIgd *self)
{
    (void)self;
}

GUPnPSimpleIgd *gupnp_simple_igd_thread_new(void)
{
    return g_object_new(gupnp_simple_igd_get_type(), NULL);
}

void gupnp_simple_igd_add_port(GUPnPSimpleIgd *self, const gchar *protocol,
                               guint external_port, const gchar *local_ip,
                               guint16 local_port, guint32 lease_duration,
                               const gchar *description)
{
    (void)self, (void)protocol, (void)external_port, (void)local_ip;
    (void)local_port, (void)lease_duration, (void)description;
}

void gupnp_simple_igd_remove_port_local(GUPnPSimpleIgd *self,
                                        const gchar *protocol,
                                        const gchar *local_ip,
                                        guint16 local_port)
{
    (void)self, (void)protocol, (void)local_ip, (void)local_port;
}
