>>++>+<[[>>]+>>+[-[++++++[>+++++++>+<<-]>-.>[<
------>-]++<<]<[>>[-]]>[>[-<<]+<[<+<]]+<<]>>]
[Version of random.b that outputs printable ASCII: "11011100..."
Daniel B Cristofani (cristofdathevanetdotcom)
http://www.hevanet.com/cristofd/brainfuck/]
