"""trial tests for zkos-tw, mirroring the ``zkos_tw`` package layout."""
