"""Every app's WebSocket routes, gathered for asgi.py."""

from channels.auth import AuthMiddleware
from django.urls import path

from tictactoe.routing import websocket_urlpatterns as tictactoe_routes

from registry.runs import RunConsumer

websocket_urlpatterns = [
    *tictactoe_routes,
    # Only the live run page asks who the user is (staff, or a demo run): the user is read from the
    # database for its sockets alone, not for every game's socket as it opens.
    path("ws/runs/<int:pk>/", AuthMiddleware(RunConsumer.as_asgi())),
]
