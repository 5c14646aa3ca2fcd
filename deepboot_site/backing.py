"""What an unreachable Redis raises, named once: redis-py's own ConnectionError and TimeoutError,
which are not subclasses of the built-in ones. The rate limiter lets a request through on them;
the site answers 503 on them (deepboot_site.middleware.ServiceUnavailableMiddleware)."""


def _redis_unreachable():
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # redis is a pinned dependency; this only guards odd installs
        return ()
    return (RedisConnectionError, RedisTimeoutError)


REDIS_UNREACHABLE = _redis_unreachable()
# A socket that failed, in the standard library's words or redis-py's.
UNREACHABLE = (ConnectionError, OSError, TimeoutError, *REDIS_UNREACHABLE)
