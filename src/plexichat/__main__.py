from plexichat.cli import main

main()
