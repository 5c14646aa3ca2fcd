"""Every app's WebSocket routes, gathered for asgi.py."""

from tictactoe.routing import websocket_urlpatterns as tictactoe_routes

websocket_urlpatterns = [*tictactoe_routes]
