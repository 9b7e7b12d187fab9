#!/bin/sh
# start.sh -- start one node of the example Redis Cluster (components/redis-cluster).
# Writes what redis.conf cannot hold to /run/redis/runtime.conf (mode 600, an
# emptyDir): the ACL user arrears with the password of the Secret
# arrears-redis-cluster (REDISCLI_AUTH; the default user is off, so nothing
# is served without it), the same credentials for a replica to its master,
# and the name this node announces to clients. The password is never on a
# command line.
set -eu
: "${REDISCLI_AUTH:?the Secret arrears-redis-cluster (key password) is not set}"
: "${POD_NAME:?}"
umask 077
cat > /run/redis/runtime.conf <<CONF
user default off
user arrears on >$REDISCLI_AUTH ~* &* +@all
masteruser arrears
masterauth $REDISCLI_AUTH
cluster-announce-hostname $POD_NAME.redis-cluster
CONF
exec redis-server /etc/redis/redis.conf
