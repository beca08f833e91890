"""The phone server: visitors play from their phones, joining by the booth's QR code.

aiohttp on the booth's own event loop (server.py), a small JSON API the page uses
(api.py), engine events routed to the phones they concern (hub.py), the page's words
(texts.py), a server-rendered page with a little plain JavaScript (templates/, static/).
Like kiosk.ui, it sees the engine only through kiosk.core's EngineAPI.
"""
