"""Rigs: real processes standing in for the pieces of a Greengrass deployment on loopback.

The broker rig emulates the Raspberry Pi: a Mosquitto broker in the core's place (TLS with a
server certificate signed by the group CA, identities from client certificates, an ACL derived
from the group's subscriptions) and a discovery endpoint answering as the Greengrass service
does. :mod:`harness.rigs.pki` makes the certificates, :mod:`harness.rigs.mosquitto` runs the
broker and :mod:`harness.rigs.discovery` serves discovery.
"""
