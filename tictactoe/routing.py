"""WebSocket routes of the tic-tac-toe app."""

from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/tictactoe/", consumers.GameConsumer.as_asgi()),
]
