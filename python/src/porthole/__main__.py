from porthole.cli import main

raise SystemExit(main())
