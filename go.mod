module lockpipe

go 1.22
