"""The gateway's pure rules: who may read what, signed links, webhook event types, retries and signatures."""
