// Package consoleproxy is Nubo's noVNC console proxy (what Nova's
// nova-novncproxy is): the console URL of POST /servers/{id}/remote-consoles
// opens noVNC's page from this handler, and noVNC then opens a WebSocket
// here (/console/websockify?token=…) that the handler joins to the
// server's VNC server, after checking the token. It serves noVNC's static
// files from a directory (Debian's novnc package) and relays bytes; it
// knows nothing of RFB beyond that.
package consoleproxy
