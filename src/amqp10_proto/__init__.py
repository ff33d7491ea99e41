"""amqp10_proto: the sans-IO AMQP 1.0 protocol core."""
