[siercarpet.b -- Sierpinski Carpet
(c) 2021 Daniel B. Cristofani
http://brainfuck.org/]

[bfc bench: enlarged to 7 iterations as the note below says, 12 more > in
the first row]
>-->->->>>>>(>>>>>>>>>>>>>>>>>>>>>)+++++[>++++++<-]>+[>+>+++<<-]>+[
  [<]<++[<++]--<[>>[-->]>..<<<]>>[[-->]>>--.++.<<]<<<<<<<+[
    [--->++++++<[+++>--------->>[->>>]->>>]+<<<+]
    >[<->>>[->>>]++++++++++.[-]<<+>+++[-]]<
  ]>>>->>
]

[This program outputs a Sierpinski Carpet fractal.

Add 3 > per iteration in first row to enlarge. (Default: 3 iterations.)

This program is licensed under a Creative Commons Attribution-ShareAlike 4.0
International License (http://creativecommons.org/licenses/by-sa/4.0/).]
