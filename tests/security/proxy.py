"""A small TCP proxy the fault tests put between a server and PostgreSQL or Redis.

`stop()` closes the listening socket and cuts every open connection (as a crashed or restarted
service would); `start()` listens again on the same port, so the server's DATABASE_URL or
REDIS_URL is unchanged and it has to reconnect by itself.
"""

import socket
import threading


class TCPProxy:
    def __init__(self, target_host, target_port, port=0):
        self.target = (target_host, target_port)
        self.port = port
        self._listener = None
        self._connections = set()
        self._lock = threading.Lock()
        self.accepted = 0

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def running(self):
        return self._listener is not None

    def start(self):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self):
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        with self._lock:
            connections, self._connections = self._connections, set()
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # stopped meanwhile
                    client.close()
                    upstream.close()
                    return
                self._connections.update((client, upstream))
                self.accepted += 1
            pumps_left = [2]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink, pumps_left), daemon=True).start()

    def _pump(self, source, sink, pumps_left):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            with self._lock:
                self._connections.discard(source)
                self._connections.discard(sink)
                pumps_left[0] -= 1
                last = pumps_left[0] == 0
            if last:  # both directions are done: release the descriptors
                source.close()
                sink.close()
