Attribute VB_Name = "xltools"
' xltools ribbon callbacks (tab "公开表").
'
' Each button runs one Python entry point of xltools.addin through xlwings'
' RunPython (module "xlwings" of this project, taken from the installed xlwings
' package when the add-in is built). The Python interpreter comes from the user
' config file that `xltools addin install` writes:
'   Windows: %USERPROFILE%\.xltools\xltools.conf   (INTERPRETER_WIN)
'   macOS:   ~/Library/Containers/com.microsoft.Excel/Data/xltools.conf (INTERPRETER_MAC)
'
' This file is UTF-8 in the repository; `xltools addin build` stores it in the
' VBA project with code page 936 (GBK). Rebuild after editing:
'   xltools addin build -o xltools.xlam
Option Explicit

Private Const APP_TITLE As String = "xltools 公开表工具"

Public Sub XltCheck(control As IRibbonControl)
    RunXltools "import xltools.addin as a; a.check()", "正在校验…", True
End Sub

Public Sub XltNarrative(control As IRibbonControl)
    RunXltools "import xltools.addin as a; a.narrative()", "正在生成情况说明…", True
End Sub

Public Sub XltExportWord(control As IRibbonControl)
    RunXltools "import xltools.addin as a; a.export_word()", "正在导出 Word…", True
End Sub

Public Sub XltInsertRows(control As IRibbonControl)
    Dim codes As String
    If ActiveWorkbook Is Nothing Then
        MsgBox "请先打开要插入科目行的公开表工作簿，并选中明细表（如 公开05）中的单元格。", vbExclamation, APP_TITLE
        Exit Sub
    End If
    If ActiveWorkbook.Path = "" Then
        MsgBox "请先把工作簿保存为 .xlsx 文件，再插入科目行。", vbExclamation, APP_TITLE
        Exit Sub
    End If
    codes = InputBox("要插入的科目编码（多个用逗号或空格分隔），如 2130101：" & vbCrLf & vbCrLf & _
                     "插入前会先保存工作簿；插入后工作簿重新打开，原文件保留为 .bak.xlsx。", _
                     APP_TITLE & " - 插入科目行", CodeInCell())
    codes = CodeList(codes)
    If codes = "" Then Exit Sub
    If codes = "?" Then
        MsgBox "科目编码只能由数字组成（如 2130101），多个编码用逗号或空格分隔。", vbExclamation, APP_TITLE
        Exit Sub
    End If
    RunXltools "import xltools.addin as a; a.insert_rows('" & codes & "')", "正在插入科目行…", True
End Sub

' The code in the selected cell, when it looks like one (the default of the input box).
Private Function CodeInCell() As String
    Dim v As String
    On Error Resume Next
    v = Trim(CStr(ActiveCell.Value))
    On Error GoTo 0
    If Len(v) >= 3 And Len(v) <= 7 And CodeList(v) = v Then CodeInCell = v
End Function

' Digits separated by single spaces ("" for nothing typed, "?" for anything else): the only text that
' goes into the Python command.
Private Function CodeList(ByVal text As String) As String
    Dim i As Long, ch As String, out As String
    For i = 1 To Len(text)
        ch = Mid$(text, i, 1)
        If ch Like "[0-9]" Then
            out = out & ch
        ElseIf ch = " " Or ch = "," Or ch = ";" Or ch = ChrW(&HFF0C) Or ch = ChrW(&H3001) Or _
               ch = ChrW(&HFF1B) Or ch = ChrW(&H3000) Or ch = vbTab Then
            If Len(out) > 0 And Right$(out, 1) <> " " Then out = out & " "
        Else
            CodeList = "?"
            Exit Function
        End If
    Next i
    CodeList = Trim(out)
End Function

Public Sub XltNewTemplate(control As IRibbonControl)
    RunXltools "import xltools.addin as a; a.new_template()", "正在新建模板…", False
End Sub

Public Sub XltAbout(control As IRibbonControl)
    RunXltools "import xltools.addin as a; a.about()", "正在读取版本与设置…", False
End Sub

Private Function InstallHint() As String
    InstallHint = "解决方法：在安装了 xltools 的 Python 环境中打开命令行，运行" & vbCrLf & vbCrLf & _
                  "    xltools addin install" & vbCrLf & vbCrLf & _
                  "然后关闭并重新打开 Excel。"
End Function

' Returns "" when the configured interpreter looks usable, else a message.
Private Function InterpreterProblem() As String
    Dim interpreter As String
    #If Mac Then
        interpreter = GetConfig("INTERPRETER_MAC", "")
    #Else
        interpreter = GetConfig("INTERPRETER_WIN", "")
    #End If
    If interpreter = "" Then interpreter = GetConfig("INTERPRETER", "")
    If interpreter = "" Then
        InterpreterProblem = "尚未为 xltools 配置 Python 解释器（找不到 Python）。"
        Exit Function
    End If
    #If Mac Then
        ' Checking a path outside Excel's sandbox would prompt for file access.
    #Else
        If interpreter <> "python" And interpreter <> "pythonw" Then
            If Not FileExists(interpreter) Then
                InterpreterProblem = "找不到 Python 解释器：" & vbCrLf & interpreter & vbCrLf & _
                                     "（Python 可能已被卸载或移动。）"
            End If
        End If
    #End If
End Function

Private Sub RunXltools(ByVal pyCommand As String, ByVal busyText As String, ByVal needsBook As Boolean)
    Dim problem As String
    Dim result As Variant

    On Error GoTo Failed

    If ActiveWorkbook Is Nothing Then
        If needsBook Then
            MsgBox "请先打开要处理的公开表工作簿，再点击此按钮。", vbExclamation, APP_TITLE
            Exit Sub
        End If
        ' RunPython passes the active workbook to Python; give it one.
        Workbooks.Add
    End If

    problem = InterpreterProblem()
    If problem <> "" Then
        MsgBox problem & vbCrLf & vbCrLf & InstallHint(), vbCritical, APP_TITLE
        Exit Sub
    End If

    Application.StatusBar = "xltools：" & busyText
    result = RunPython(pyCommand)
    Application.StatusBar = False

    If Not IsEmpty(result) Then
        If result = -1 Then
            MsgBox "xltools 运行出错，错误详情见上一个窗口。" & vbCrLf & vbCrLf & _
                   "如果提示 No module named 'xltools' 或 'xlwings'，说明 Excel 使用的 Python 环境中" & _
                   "没有安装 xltools。" & vbCrLf & vbCrLf & InstallHint(), vbExclamation, APP_TITLE
        End If
    End If
    Exit Sub

Failed:
    Application.StatusBar = False
    MsgBox "xltools 出错：" & Err.Description & vbCrLf & vbCrLf & _
           "如果问题反复出现，请重新安装加载项。" & vbCrLf & InstallHint(), vbCritical, APP_TITLE
End Sub
