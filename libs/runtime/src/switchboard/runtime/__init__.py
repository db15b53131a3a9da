"""Runtime pieces every Switchboard service shares: settings, logging, auth, probes, Kafka and Mongo
plumbing, the consumer with dead letters, and the outbox relay."""
