"""Every app's WebSocket routes, gathered for asgi.py."""

from django.urls import path

from tictactoe.routing import websocket_urlpatterns as tictactoe_routes

from registry.runs import RunConsumer

websocket_urlpatterns = [
    *tictactoe_routes,
    path("ws/runs/<int:pk>/", RunConsumer.as_asgi()),
]
