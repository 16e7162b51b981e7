cat: copies stdin to stdout up to the first NUL byte
Clearing the cell before each read makes it work whatever the EOF mode
,[.[-],]
