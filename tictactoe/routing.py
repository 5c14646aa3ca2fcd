"""WebSocket routes of the tic-tac-toe app."""

websocket_urlpatterns = []
