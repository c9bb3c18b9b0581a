from dqs.cli.entry import main

main()
