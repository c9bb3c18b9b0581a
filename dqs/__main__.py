from dqs.cli.app import main

main()
