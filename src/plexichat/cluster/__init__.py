"""Several replicas of one host: what they share through Redis.

A replica joins a cluster when ``PLEXICHAT_REDIS_URL`` is set; every replica uses the
same database (``PLEXICHAT_DATABASE_URL``). Durable facts stay in the database; Redis
carries signals (a change happened, a message was posted) and ephemeral data only.
Without a Redis URL nothing here is imported and the host runs as one process.
"""
