from dshgan.cli import main

raise SystemExit(main())
