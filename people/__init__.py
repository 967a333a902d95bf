"""People: faces grouped into persons across the library, speakers split into turns and grouped across videos."""
