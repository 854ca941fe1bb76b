from openhermit.gateway.server import main

main()
