from randomchat.cli import main

raise SystemExit(main())
