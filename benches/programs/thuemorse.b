>>++++++[>++++++++<-]+[[>.[>]+<<[->-<<<]>[>+<<]>]>++<++]
Thue-Morse sequence (http://www.research.att.com/projects/OEIS?Anum=A010060).
Takes O(n) time and O(lg n) space (which are optimal); does not terminate.
Daniel B Cristofani (cristofdathevanetdotcom)
http://www.hevanet.com/cristofd/brainfuck/
